-- The data server a tenant's database lives on (a name from db_servers in
-- the config); NULL is the primary, which also holds this control DB.
ALTER TABLE tenants ADD COLUMN IF NOT EXISTS db_server VARCHAR(64) NULL AFTER db_name;
