-- name: GetBookByIsbn :one
-- A cached lookup by key: the function asks the executor for its result cache first.
-- @cache 60s
SELECT * FROM books WHERE isbn = $1;

-- name: BooksOnShelf :many
-- A cached list through a view (it reads books and shelves), keyed by both parameters.
-- @cache 5m
SELECT id, title, label FROM shelved_books
WHERE label = sqlc.arg(label) AND title >= sqlc.arg(from_title)
ORDER BY title;

-- name: BooksTagged :many
-- An array parameter: the cache keys it by its items.
-- @cache 2m
SELECT * FROM books WHERE tags && sqlc.arg(tags)::text[];

-- name: CountBooks :one
-- A scalar, cached.
-- @cache 1h
SELECT count(*) FROM books;

-- name: GetBook :one
-- Not marked: no cache lookup at all.
SELECT * FROM books WHERE id = $1;

-- name: RenameBook :exec
-- A write: never cached; it writes books.
UPDATE books SET title = sqlc.arg(title) WHERE id = sqlc.arg(id);
