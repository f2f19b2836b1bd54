-- The nodes sharing a PostgreSQL database, each with a lease it renews
-- over its change-feed connection (unix milliseconds, by the database's
-- clock). A write is acknowledged once every node holding a lease has
-- applied it, or that lease has run out; see docs/cluster.md. SQLite has
-- one node and never uses the table.
CREATE TABLE nodes (
    id          TEXT   PRIMARY KEY,
    lease_until BIGINT NOT NULL
);
