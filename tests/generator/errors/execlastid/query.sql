-- name: CreateThing :execlastid
INSERT INTO things (name) VALUES ($1);
