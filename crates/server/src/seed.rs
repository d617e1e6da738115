//! Demo data for `make run`: the seed film with its credits, demo members, and the whole loop on it —
//! a 4.5-star review by one member, followed, liked and commented on by the others, so their feeds
//! show it. Idempotent: what exists is left alone.

use std::sync::Arc;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use filmlog_app::credentials::PasswordService;
use filmlog_app::ops::{self, OpError};
use filmlog_domain::list::ListOp;
use filmlog_domain::{MemberId, Password};
use filmlog_persistence::catalog::{self, NewCredit, NewFilm};
use filmlog_persistence::lists;
use filmlog_persistence::log_entries::{NewLogEntry, ReviewSort};
use filmlog_persistence::members::{self, MemberChanges, NewMember};

use crate::{BoxError, Settings};

/// The demo members' password, printed by `make run` and in the README. Demo data only.
pub const DEMO_PASSWORD: &str = "filmlog-demo-password";

/// (username, display name, bio)
pub const DEMO_MEMBERS: &[(&str, &str, &str)] = &[
    (
        "shirin",
        "Shirin Ahmadi",
        "Iranian cinema, slow cinema, children's films that are not for children.",
    ),
    (
        "tomas",
        "Tomás Ruiz",
        "Mostly westerns. Occasionally regrets it.",
    ),
    (
        "amara",
        "Amara Okafor",
        "Watching every Palme d'Or winner in order.",
    ),
    ("kenji", "Kenji Watanabe", "Ozu on Sundays."),
];

pub const SEED_SLUG: &str = "children-of-heaven-1997";

/// Written for Filmlog's demo.
const REVIEW: &str = "A pair of mended pink shoes carries the whole film. Ali loses his sister's only \
pair on an errand, and rather than burden parents who are already counting every rial, the two \
children share his sneakers in shifts — she runs home from the morning school, he sprints to the \
afternoon one, and the handover in the alley becomes the film's heartbeat.\n\nMajidi never asks us to \
pity them. The camera stays at their height, the city is all gutters and bazaar noise, and the \
stakes are exactly as large as a child feels them. The long-distance race near the end is one of the \
most nervous sequences I have sat through, and the last shot, fish nibbling at blistered feet, is a \
quiet grace note. Half a star off only because the adult world is drawn a little thinly.";

fn seed_film() -> NewFilm {
    NewFilm {
        slug: SEED_SLUG.to_owned(),
        title: "Children of Heaven".to_owned(),
        original_title: Some("Bacheha-Ye aseman".to_owned()),
        year: Some(1997),
        release_date: None,
        runtime_minutes: Some(89),
        synopsis: Some(
            "After Ali loses his little sister Zahra's only pair of shoes, the two share his sneakers in secret, \
             running between school shifts, until a city-wide race offers a pair of shoes as third prize."
                .to_owned(),
        ),
        poster_url: None,
        genres: vec!["Drama".to_owned(), "Family".to_owned()],
        countries: vec!["Iran".to_owned()],
        languages: vec!["Persian".to_owned()],
    }
}

fn seed_credits() -> Vec<NewCredit> {
    let cast = |name: &str, character: Option<&str>, order: i32| NewCredit {
        name: name.to_owned(),
        role: filmlog_domain::CreditRole::Cast,
        character: character.map(str::to_owned),
        billing_order: order,
    };
    vec![
        NewCredit {
            name: "Majid Majidi".to_owned(),
            role: filmlog_domain::CreditRole::Director,
            character: None,
            billing_order: 0,
        },
        cast("Amir Farrokh Hashemian", Some("Ali"), 0),
        cast("Bahare Seddiqi", Some("Zahra"), 1),
        cast("Reza Naji", None, 2),
    ]
}

async fn demo_member(
    conn: &mut AsyncPgConnection,
    passwords: &Arc<PasswordService>,
    password: &Password,
    (username, display_name, bio): (&str, &str, &str),
) -> Result<(MemberId, bool), BoxError> {
    if let Some(m) = members::find_by_username(conn, username).await? {
        return Ok((m.id, false));
    }
    let hash = passwords.hash(password).await.map_err(|e| e.to_string())?;
    let email = filmlog_domain::Email::parse(&format!("{username}@demo.filmlog.invalid"))
        .map_err(|e| e.to_string())?;
    let member = members::insert(
        conn,
        &NewMember {
            username,
            email: &email,
            password_hash: &hash,
        },
    )
    .await?;
    let changes = MemberChanges {
        display_name: Some(Some(display_name.to_owned())),
        bio: Some(Some(bio.to_owned())),
        ..Default::default()
    };
    members::update_profile(conn, member.id, &changes).await?;
    // Demo addresses (`.invalid`) cannot open a link: taken as verified, so the demo can add
    // webhooks (their mail lands in the local mailbox of `make run`).
    members::verify_email(conn, member.id, &email.key()).await?;
    Ok((member.id, true))
}

pub async fn run(settings: &Settings) -> Result<(), BoxError> {
    let mut conn = AsyncPgConnection::establish(settings.database_url()?).await?;
    let passwords = Arc::new(PasswordService::new(2).map_err(|e| e.to_string())?);
    let password = Password::parse(DEMO_PASSWORD)?;

    let film = match catalog::id_by_slug(&conn, SEED_SLUG, None, true).await? {
        Some(id) => id,
        None => {
            catalog::insert_film(&mut conn, &seed_film(), &seed_credits())
                .await?
                .id
        }
    };
    let mut ids = Vec::new();
    let mut created = 0;
    for m in DEMO_MEMBERS {
        let (id, new) = demo_member(&mut conn, &passwords, &password, *m).await?;
        ids.push(id);
        created += usize::from(new);
    }
    let [shirin, tomas, amara, kenji] = ids[..] else {
        return Err("demo members missing".into());
    };

    let existing = filmlog_persistence::log_entries::film_reviews(
        &conn,
        filmlog_persistence::log_entries::ReviewedFilm::Id(film),
        ReviewSort::Recent,
        filmlog_persistence::log_entries::ReviewReader::default(),
        None,
        None,
        100,
    )
    .await?;
    if existing.iter().any(|v| v.0.entry.member_id == shirin) {
        println!("seed: demo data already present");
        return Ok(());
    }
    let comments = [
        (
            tomas,
            "The shoe handover in the alley had me holding my breath every single time.",
        ),
        (
            amara,
            "That race! I did not expect to be that tense about coming third.",
        ),
        (kenji, "Lovely review. The goldfish at the end got me too."),
    ];
    // shirin's ranked list: Children of Heaven first, then the catalog's most watched films.
    let others = catalog::browse(
        &mut conn,
        None,
        &catalog::FilmFilter::default(),
        catalog::FilmSort::Popular,
        None,
        5,
    )
    .await?;
    let mut ranked = vec![film];
    ranked.extend(
        others
            .iter()
            .map(|r| r.film.id)
            .filter(|id| *id != film)
            .take(4),
    );
    let adds: Vec<ListOp> = ranked
        .iter()
        .map(|f| ListOp::Add {
            film: *f,
            position: None,
        })
        .collect();
    let plan = filmlog_domain::list::plan(&[], &adds).map_err(|(_, e)| e.to_string())?;
    conn.transaction(async |conn| {
        for follower in [tomas, amara, kenji] {
            ops::social::follow(conn, follower, shirin).await?;
        }
        ops::social::follow(conn, shirin, amara).await?;
        let review = NewLogEntry {
            watched_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 20),
            rewatch: true,
            rating: filmlog_domain::Rating::from_halves(9).ok(),
            review_text: Some(REVIEW.to_owned()),
            contains_spoilers: true,
            tags: vec!["iranian cinema".to_owned(), "siblings".to_owned()],
            visibility: None,
        };
        let entry = ops::films::log_locked(conn, shirin, film, &review, true)
            .await?
            .id;
        for (who, text) in comments {
            ops::social::like_review(conn, entry, who).await?;
            ops::social::add_comment(conn, entry, who, text.to_owned()).await?;
        }
        let list = lists::insert(
            conn,
            &lists::NewList {
                owner: shirin,
                name: "Childhood on screen, ranked",
                description: Some("Films that see the world from a child's height."),
                ranked: true,
                visibility: filmlog_domain::Audience::Public,
                tags: &["childhood".to_owned()],
            },
        )
        .await?;
        let mut notes = std::collections::HashMap::new();
        notes.insert(
            film,
            lists::EntryText {
                notes: Some(Some("The shoes, the race, the goldfish.".to_owned())),
                contains_spoilers: Some(false),
            },
        );
        lists::apply(conn, list, &plan, &notes).await?;
        ops::lists::created(conn, shirin, list, plan.added.len()).await?;
        ops::social::like_list(conn, list, amara).await?;
        Ok::<_, OpError>(())
    })
    .await
    .map_err(|e| e.to_string())?;
    println!(
        "seed: {created} demo members created; Children of Heaven reviewed by shirin, followed, liked and commented on, and first in her ranked list (liked by amara)"
    );
    Ok(())
}
