DROP INDEX films_unverified_queue;
