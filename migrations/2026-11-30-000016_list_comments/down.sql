DROP TABLE list_comments;
