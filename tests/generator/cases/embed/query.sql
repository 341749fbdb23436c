-- name: BooksWithAuthors :many
-- Each book with its author, one round trip.
SELECT sqlc.embed(books), sqlc.embed(authors), length(books.title) AS title_length
FROM books JOIN authors ON authors.id = books.author_id
ORDER BY books.id;

-- name: BookWithAuthor :one
SELECT sqlc.embed(books), sqlc.embed(authors)
FROM books JOIN authors ON authors.id = books.author_id
WHERE books.id = $1;
