CREATE TABLE base (n int CHECK (n > 0));
-- A child inherits the parent's CHECKs under the parent's names: the replay does
-- not follow inheritance, so generation stops here instead of missing them.
CREATE TABLE child (m int) INHERITS (base);
