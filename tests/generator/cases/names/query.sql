-- name: UpdateBookISBN :exec
-- UpdateBookISBNParams, not UpdateBookIsbnParams (max_params: 1 gives it a model).
UPDATE books SET isbn = $1 WHERE id = $2;

-- name: CreateWarehouse :one
INSERT INTO warehouses (name, city) VALUES ($1, $2) RETURNING *;

-- name: GetWarehouse :one
SELECT * FROM warehouses WHERE id = $1;

-- name: CreateSeries :one
INSERT INTO series (title) VALUES ($1) RETURNING *;

-- name: ListSeries :many
SELECT * FROM series ORDER BY id;

-- name: CreatePerson :one
INSERT INTO people (name, born) VALUES ($1, $2) RETURNING *;

-- name: PeopleBornBefore :many
-- $1 is compared with born through a cast and arithmetic: sqlc names it nothing.
SELECT * FROM people WHERE born < $1::date + 7 ORDER BY id;

-- name: CreateBook :one
INSERT INTO books (title, pages) VALUES ($1, $2) RETURNING *;

-- name: BooksByTitles :many
-- = ANY takes a list: titles.
SELECT id, title FROM books WHERE title = ANY($1::text[]) ORDER BY id;

-- name: BooksWithPages :many
SELECT id, pages FROM books WHERE pages >= $1::int - 1 ORDER BY id LIMIT $2;

-- name: AddPages :execrows
-- $1 is stored in pages: pages.
UPDATE books SET pages = pages + $1::int WHERE id = $2;

-- name: BookISBNs :many
-- $1 is the result column label.
SELECT id, isbn, $1::text AS label FROM books ORDER BY id;

-- name: EchoUUID :one
-- Only a cast to go by: uuid.
SELECT $1::uuid;
