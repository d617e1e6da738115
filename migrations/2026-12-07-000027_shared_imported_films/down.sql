-- Data only: which films were released is not recorded, so nothing is undone.
SELECT 1;
