// @generated automatically by Diesel CLI.

diesel::table! {
    account_tokens (token_hash) {
        token_hash -> Bytea,
        member_id -> Int8,
        purpose -> Text,
        email_key -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        email -> Nullable<Text>,
    }
}

diesel::table! {
    activities (id) {
        id -> Int8,
        actor_id -> Int8,
        kind -> Text,
        film_id -> Nullable<Int8>,
        log_entry_id -> Nullable<Int8>,
        comment_id -> Nullable<Int8>,
        subject_member_id -> Nullable<Int8>,
        rating -> Nullable<Int2>,
        created_at -> Timestamptz,
        restricted -> Bool,
        list_id -> Nullable<Int8>,
        film_count -> Nullable<Int4>,
    }
}

diesel::table! {
    blocks (blocker_id, blocked_id) {
        blocker_id -> Int8,
        blocked_id -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    catalog_log (id) {
        id -> Int8,
        admin_id -> Int8,
        admin_username -> Text,
        action -> Text,
        detail -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    comments (id) {
        id -> Int8,
        log_entry_id -> Int8,
        author_id -> Int8,
        body -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        removed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    entry_subscriptions (log_entry_id, member_id) {
        log_entry_id -> Int8,
        member_id -> Int8,
        subscribed -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    export_chunks (job_id, n) {
        job_id -> Int8,
        n -> Int4,
        bytes -> Bytea,
    }
}

diesel::table! {
    export_jobs (id) {
        id -> Int8,
        member_id -> Int8,
        status -> Text,
        bytes -> Nullable<Int8>,
        error -> Nullable<Text>,
        claimed_until -> Nullable<Timestamptz>,
        attempts -> Int4,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        expires_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    feed_settings (id) {
        id -> Bool,
        heavy_followers -> Int4,
        timeline_entries -> Int4,
        idle_days -> Int4,
        build_entries -> Int4,
    }
}

diesel::table! {
    feed_work (id) {
        id -> Int8,
        activity_id -> Nullable<Int8>,
        actor_id -> Nullable<Int8>,
        created_at -> Nullable<Timestamptz>,
        member_id -> Nullable<Int8>,
        author_id -> Nullable<Int8>,
        queued_at -> Timestamptz,
    }
}

diesel::table! {
    film_credits (id) {
        id -> Int8,
        film_id -> Int8,
        person_id -> Int8,
        role -> Text,
        character -> Nullable<Text>,
        billing_order -> Int4,
    }
}

diesel::table! {
    film_search_titles (film_id, key) {
        film_id -> Int8,
        key -> Text,
    }
}

diesel::table! {
    film_stats (film_id) {
        film_id -> Int8,
        watch_count -> Int4,
        like_count -> Int4,
        rating_count -> Int4,
        rating_sum -> Int8,
        review_count -> Int4,
        r1 -> Int4,
        r2 -> Int4,
        r3 -> Int4,
        r4 -> Int4,
        r5 -> Int4,
        r6 -> Int4,
        r7 -> Int4,
        r8 -> Int4,
        r9 -> Int4,
        r10 -> Int4,
        list_count -> Int4,
    }
}

diesel::table! {
    films (id) {
        id -> Int8,
        slug -> Text,
        title -> Text,
        original_title -> Nullable<Text>,
        year -> Nullable<Int4>,
        release_date -> Nullable<Date>,
        runtime_minutes -> Nullable<Int4>,
        synopsis -> Nullable<Text>,
        poster_url -> Nullable<Text>,
        genres -> Array<Nullable<Text>>,
        countries -> Array<Nullable<Text>>,
        languages -> Array<Nullable<Text>>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        tmdb_id -> Nullable<Int4>,
        imdb_id -> Nullable<Text>,
        letterboxd_uri -> Nullable<Text>,
        verified -> Bool,
        added_by -> Nullable<Int8>,
        wikipedia_page -> Nullable<Text>,
        alternative_titles -> Array<Nullable<Text>>,
        sources -> Array<Nullable<Text>>,
    }
}

diesel::table! {
    follow_requests (requester_id, target_id) {
        requester_id -> Int8,
        target_id -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    follows (follower_id, followee_id) {
        follower_id -> Int8,
        followee_id -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    heavy_authors (member_id) {
        member_id -> Int8,
    }
}

diesel::table! {
    home_timeline_entries (member_id, created_at, activity_id) {
        member_id -> Int8,
        created_at -> Timestamptz,
        activity_id -> Int8,
        actor_id -> Int8,
    }
}

diesel::table! {
    home_timeline_followees (followee_id, member_id) {
        followee_id -> Int8,
        member_id -> Int8,
    }
}

diesel::table! {
    home_timelines (member_id) {
        member_id -> Int8,
        requested_at -> Timestamptz,
        built_at -> Nullable<Timestamptz>,
        read_at -> Timestamptz,
        floor_at -> Timestamptz,
        floor_id -> Int8,
        trimmed_at -> Timestamptz,
    }
}

diesel::table! {
    idempotency_keys (member_id, key) {
        member_id -> Int8,
        key -> Text,
        request_hash -> Bytea,
        status -> Nullable<Int2>,
        location -> Nullable<Text>,
        body -> Nullable<Bytea>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    import_chunks (job_id, n) {
        job_id -> Int8,
        n -> Int4,
        bytes -> Bytea,
    }
}

diesel::table! {
    import_jobs (id) {
        id -> Int8,
        member_id -> Int8,
        status -> Text,
        phase -> Text,
        dry_run -> Bool,
        source -> Nullable<Text>,
        archive_bytes -> Int8,
        progress -> Jsonb,
        error -> Nullable<Text>,
        claimed_until -> Nullable<Timestamptz>,
        attempts -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    import_rows (job_id, seq) {
        job_id -> Int8,
        seq -> Int4,
        file -> Text,
        line -> Int4,
        kind -> Text,
        source_key -> Nullable<Text>,
        item -> Nullable<Jsonb>,
        film_id -> Nullable<Int8>,
        matched_by -> Nullable<Text>,
        action -> Nullable<Text>,
        note -> Nullable<Text>,
        done -> Bool,
        film_name -> Nullable<Text>,
        film_year -> Nullable<Int4>,
    }
}

diesel::table! {
    import_sources (member_id, source_key) {
        member_id -> Int8,
        source_key -> Text,
        item -> Jsonb,
        film_id -> Nullable<Int8>,
        log_entry_id -> Nullable<Int8>,
        list_id -> Nullable<Int8>,
        imported_at -> Timestamptz,
    }
}

diesel::table! {
    list_comments (id) {
        id -> Int8,
        list_id -> Int8,
        author_id -> Int8,
        body -> Text,
        created_at -> Timestamptz,
        removed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    list_entries (list_id, film_id) {
        list_id -> Int8,
        film_id -> Int8,
        sort_key -> Int8,
        notes -> Nullable<Text>,
        contains_spoilers -> Bool,
        added_at -> Timestamptz,
    }
}

diesel::table! {
    list_likes (list_id, member_id) {
        list_id -> Int8,
        member_id -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    list_subscriptions (list_id, member_id) {
        list_id -> Int8,
        member_id -> Int8,
        subscribed -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    lists (id) {
        id -> Int8,
        owner_id -> Int8,
        name -> Text,
        description -> Nullable<Text>,
        ranked -> Bool,
        visibility -> Text,
        tags -> Array<Nullable<Text>>,
        entry_count -> Int4,
        like_count -> Int4,
        comment_count -> Int4,
        cloned_from_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        removed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    log_entries (id) {
        id -> Int8,
        member_id -> Int8,
        film_id -> Int8,
        watched_on -> Nullable<Date>,
        rewatch -> Bool,
        rating -> Nullable<Int2>,
        review_text -> Nullable<Text>,
        contains_spoilers -> Bool,
        tags -> Array<Nullable<Text>>,
        like_count -> Int4,
        comment_count -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        popularity_week -> Int4,
        popularity_month -> Int4,
        popularity_all -> Int4,
        review_removed_at -> Nullable<Timestamptz>,
        visibility -> Text,
    }
}

diesel::table! {
    login_challenges (challenge_hash) {
        challenge_hash -> Bytea,
        member_id -> Int8,
        expires_at -> Timestamptz,
        attempts -> Int4,
        user_agent -> Nullable<Text>,
        network -> Nullable<Text>,
    }
}

diesel::table! {
    mail_outbox (id) {
        id -> Int8,
        member_id -> Nullable<Int8>,
        recipient -> Text,
        recipient_key -> Text,
        kind -> Text,
        subject -> Text,
        body_text -> Nullable<Text>,
        body_html -> Nullable<Text>,
        unsubscribe -> Nullable<Text>,
        created_at -> Timestamptz,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        claimed_until -> Nullable<Timestamptz>,
        sent_at -> Nullable<Timestamptz>,
        failed_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    member_changes (member_id, object_type, object_id) {
        member_id -> Int8,
        object_type -> Text,
        object_id -> Int8,
        seq -> Int8,
        deleted -> Bool,
        changed_at -> Timestamptz,
    }
}

diesel::table! {
    member_films (member_id, film_id) {
        member_id -> Int8,
        film_id -> Int8,
        watched -> Bool,
        liked -> Bool,
        in_watchlist -> Bool,
        rating -> Nullable<Int2>,
        liked_at -> Nullable<Timestamptz>,
        watchlisted_at -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
        explicit_rating -> Nullable<Int2>,
        explicit_rated_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    member_sync (member_id) {
        member_id -> Int8,
        seq -> Int8,
        pruned_through -> Int8,
        log_entries_at -> Nullable<Timestamptz>,
        ratings_at -> Nullable<Timestamptz>,
        likes_at -> Nullable<Timestamptz>,
        watchlist_at -> Nullable<Timestamptz>,
        follows_at -> Nullable<Timestamptz>,
        comments_at -> Nullable<Timestamptz>,
        lists_at -> Nullable<Timestamptz>,
        profile_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    members (id) {
        id -> Int8,
        username -> Text,
        email -> Text,
        password_hash -> Text,
        display_name -> Nullable<Text>,
        bio -> Nullable<Text>,
        location -> Nullable<Text>,
        website -> Nullable<Text>,
        pronouns -> Nullable<Text>,
        role -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        follower_count -> Int4,
        following_count -> Int4,
        email_key -> Text,
        suspended_until -> Nullable<Timestamptz>,
        private_account -> Bool,
        private_watchlist -> Bool,
        default_visibility -> Text,
        list_count -> Int4,
        notifications_read_at -> Timestamptz,
        notifications_off -> Array<Nullable<Text>>,
        email_verified_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    moderation_log (id) {
        id -> Int8,
        moderator_id -> Int8,
        moderator_username -> Text,
        action -> Text,
        subject_type -> Text,
        subject_id -> Int8,
        reason -> Text,
        created_at -> Timestamptz,
        suspended_until -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    mutes (muter_id, muted_id) {
        muter_id -> Int8,
        muted_id -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    notifications (id) {
        id -> Int8,
        recipient_id -> Int8,
        actor_id -> Nullable<Int8>,
        kind -> Text,
        log_entry_id -> Nullable<Int8>,
        list_id -> Nullable<Int8>,
        comment_id -> Nullable<Int8>,
        list_comment_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        webhook_endpoint_id -> Nullable<Int8>,
    }
}

diesel::table! {
    oauth_apps (id) {
        id -> Int8,
        owner_id -> Int8,
        client_id -> Text,
        name -> Text,
        description -> Text,
        homepage -> Nullable<Text>,
        redirect_uris -> Array<Nullable<Text>>,
        confidential -> Bool,
        secret_hash -> Nullable<Bytea>,
        secret_created_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    oauth_codes (code_hash) {
        code_hash -> Bytea,
        app_id -> Int8,
        member_id -> Int8,
        redirect_uri -> Text,
        challenge -> Text,
        scopes -> Int2,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        session_id -> Nullable<Int8>,
    }
}

diesel::table! {
    oauth_device_codes (device_hash) {
        device_hash -> Bytea,
        user_code -> Text,
        app_id -> Int8,
        scopes -> Int2,
        expires_at -> Timestamptz,
        poll_interval -> Int4,
        last_polled_at -> Nullable<Timestamptz>,
        member_id -> Nullable<Int8>,
        decision -> Nullable<Text>,
        collected_at -> Nullable<Timestamptz>,
        network -> Nullable<Text>,
    }
}

diesel::table! {
    people (id) {
        id -> Int8,
        name -> Text,
        slug -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    recovery_codes (member_id, code_hash) {
        member_id -> Int8,
        code_hash -> Bytea,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Int8,
        session_id -> Int8,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        replaced_by -> Nullable<Int8>,
    }
}

diesel::table! {
    replaceable_schema (id) {
        id -> Bool,
        hash -> Text,
        applied_at -> Timestamptz,
    }
}

diesel::table! {
    reports (id) {
        id -> Int8,
        reporter_id -> Int8,
        subject_type -> Text,
        subject_id -> Int8,
        reason -> Text,
        message -> Nullable<Text>,
        status -> Text,
        resolved_by_action -> Nullable<Int8>,
        created_at -> Timestamptz,
        resolved_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    review_likes (log_entry_id, member_id) {
        log_entry_id -> Int8,
        member_id -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Int8,
        member_id -> Int8,
        created_at -> Timestamptz,
        last_used_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        revoked_reason -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        network -> Nullable<Text>,
        authenticated_at -> Timestamptz,
        app_id -> Nullable<Int8>,
        scopes -> Nullable<Int2>,
    }
}

diesel::table! {
    two_factor (member_id) {
        member_id -> Int8,
        secret -> Text,
        enabled_at -> Nullable<Timestamptz>,
        last_step -> Int8,
        created_at -> Timestamptz,
        failed_codes -> Int4,
        locked_until -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Int8,
        endpoint_id -> Int8,
        message_id -> Text,
        event_type -> Text,
        payload -> Jsonb,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
        last_status -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        response_excerpt -> Nullable<Text>,
        created_at -> Timestamptz,
        delivered_at -> Nullable<Timestamptz>,
        member_id -> Nullable<Int8>,
        object_type -> Nullable<Text>,
        object_id -> Nullable<Int8>,
        deleted -> Nullable<Bool>,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Int8,
        owner_id -> Int8,
        url -> Text,
        events -> Array<Nullable<Text>>,
        secret -> Text,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        consecutive_failures -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(account_tokens -> members (member_id));
diesel::joinable!(activities -> comments (comment_id));
diesel::joinable!(activities -> films (film_id));
diesel::joinable!(activities -> lists (list_id));
diesel::joinable!(activities -> log_entries (log_entry_id));
diesel::joinable!(comments -> log_entries (log_entry_id));
diesel::joinable!(comments -> members (author_id));
diesel::joinable!(entry_subscriptions -> log_entries (log_entry_id));
diesel::joinable!(entry_subscriptions -> members (member_id));
diesel::joinable!(export_chunks -> export_jobs (job_id));
diesel::joinable!(export_jobs -> members (member_id));
diesel::joinable!(film_credits -> films (film_id));
diesel::joinable!(film_credits -> people (person_id));
diesel::joinable!(film_search_titles -> films (film_id));
diesel::joinable!(film_stats -> films (film_id));
diesel::joinable!(films -> members (added_by));
diesel::joinable!(heavy_authors -> members (member_id));
diesel::joinable!(home_timelines -> members (member_id));
diesel::joinable!(idempotency_keys -> members (member_id));
diesel::joinable!(import_chunks -> import_jobs (job_id));
diesel::joinable!(import_jobs -> members (member_id));
diesel::joinable!(import_rows -> films (film_id));
diesel::joinable!(import_rows -> import_jobs (job_id));
diesel::joinable!(import_sources -> films (film_id));
diesel::joinable!(import_sources -> lists (list_id));
diesel::joinable!(import_sources -> log_entries (log_entry_id));
diesel::joinable!(import_sources -> members (member_id));
diesel::joinable!(list_comments -> lists (list_id));
diesel::joinable!(list_comments -> members (author_id));
diesel::joinable!(list_entries -> films (film_id));
diesel::joinable!(list_entries -> lists (list_id));
diesel::joinable!(list_likes -> lists (list_id));
diesel::joinable!(list_likes -> members (member_id));
diesel::joinable!(list_subscriptions -> lists (list_id));
diesel::joinable!(list_subscriptions -> members (member_id));
diesel::joinable!(lists -> members (owner_id));
diesel::joinable!(log_entries -> films (film_id));
diesel::joinable!(log_entries -> members (member_id));
diesel::joinable!(login_challenges -> members (member_id));
diesel::joinable!(mail_outbox -> members (member_id));
diesel::joinable!(member_changes -> members (member_id));
diesel::joinable!(member_films -> films (film_id));
diesel::joinable!(member_films -> members (member_id));
diesel::joinable!(member_sync -> members (member_id));
diesel::joinable!(notifications -> comments (comment_id));
diesel::joinable!(notifications -> list_comments (list_comment_id));
diesel::joinable!(notifications -> lists (list_id));
diesel::joinable!(notifications -> log_entries (log_entry_id));
diesel::joinable!(notifications -> webhook_endpoints (webhook_endpoint_id));
diesel::joinable!(oauth_apps -> members (owner_id));
diesel::joinable!(oauth_codes -> members (member_id));
diesel::joinable!(oauth_codes -> oauth_apps (app_id));
diesel::joinable!(oauth_codes -> sessions (session_id));
diesel::joinable!(oauth_device_codes -> members (member_id));
diesel::joinable!(oauth_device_codes -> oauth_apps (app_id));
diesel::joinable!(recovery_codes -> members (member_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(reports -> members (reporter_id));
diesel::joinable!(review_likes -> log_entries (log_entry_id));
diesel::joinable!(review_likes -> members (member_id));
diesel::joinable!(sessions -> members (member_id));
diesel::joinable!(sessions -> oauth_apps (app_id));
diesel::joinable!(two_factor -> members (member_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_endpoints -> members (owner_id));

diesel::allow_tables_to_appear_in_same_query!(
    account_tokens,
    activities,
    blocks,
    catalog_log,
    comments,
    entry_subscriptions,
    export_chunks,
    export_jobs,
    feed_settings,
    feed_work,
    film_credits,
    film_search_titles,
    film_stats,
    films,
    follow_requests,
    follows,
    heavy_authors,
    home_timeline_entries,
    home_timeline_followees,
    home_timelines,
    idempotency_keys,
    import_chunks,
    import_jobs,
    import_rows,
    import_sources,
    list_comments,
    list_entries,
    list_likes,
    list_subscriptions,
    lists,
    log_entries,
    login_challenges,
    mail_outbox,
    member_changes,
    member_films,
    member_sync,
    members,
    moderation_log,
    mutes,
    notifications,
    oauth_apps,
    oauth_codes,
    oauth_device_codes,
    people,
    recovery_codes,
    refresh_tokens,
    replaceable_schema,
    reports,
    review_likes,
    sessions,
    two_factor,
    webhook_deliveries,
    webhook_endpoints,
);
