CREATE TABLE shelves (
    id bigint PRIMARY KEY,
    label text NOT NULL
);

CREATE TABLE books (
    id bigint PRIMARY KEY,
    isbn text NOT NULL UNIQUE,
    title text NOT NULL,
    shelf_id bigint NOT NULL REFERENCES shelves (id),
    tags text[] NOT NULL DEFAULT '{}'
);

CREATE VIEW shelved_books AS
SELECT b.id, b.title, s.label FROM books AS b JOIN shelves AS s ON s.id = b.shelf_id;
