-- Object ids are no longer registered in a table of their own: a reference
-- property looks its target up in the type tables themselves, so that an
-- object create writes one row instead of two.
DROP TABLE IF EXISTS _objects;
