-- Output chunks are stored as they came: compressing every 64 KiB chunk on insert
-- (TOAST's default for bytea) costs more CPU than the disk it saves for most output.
ALTER TABLE log_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
