-- PostgreSQL partitions the per-household tables of register versions by version
-- (postgres/0013_register_partitions.sql), so that an import can load and index a version
-- off to the side and attach it. SQLite has no partitions and needs none: an import
-- holds the database's write lock and its INSERTs are in-process calls. Nothing changes
-- here; the file keeps the two backends' migration numbers in step.
SELECT 1;
