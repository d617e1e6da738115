DROP INDEX lists_name_trgm_idx;
DROP TABLE list_likes;
