CREATE TABLE user_data (
    id integer PRIMARY KEY,
    "user" text NOT NULL,
    joined date
);
CREATE SCHEMA inventory;
CREATE TABLE inventory."StockItems" (
    id integer PRIMARY KEY,
    "Name" text NOT NULL,
    "Quantity" integer NOT NULL DEFAULT 0,
    "order" text
);
