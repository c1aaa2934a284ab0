-- While `tessera tenant move` catches up a tenant's copy on its new server,
-- the tenant is read-only until this time (a lease: a move that dies
-- leaves the tenant writable again once it has passed).
ALTER TABLE tenants ADD COLUMN IF NOT EXISTS read_only_until DATETIME(3) NULL AFTER db_server;
