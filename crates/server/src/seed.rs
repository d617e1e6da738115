//! Demo data for `make run`: a few members to log in as. Idempotent: members that exist are left alone.

use std::sync::Arc;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use filmlog_api::PasswordService;
use filmlog_domain::Password;
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

pub async fn run(settings: &Settings) -> Result<(), BoxError> {
    let mut conn = AsyncPgConnection::establish(settings.database_url()?).await?;
    let passwords = Arc::new(PasswordService::new(2).map_err(|e| e.to_string())?);
    let password = Password::parse(DEMO_PASSWORD)?;
    let mut created = 0;
    for (username, display_name, bio) in DEMO_MEMBERS {
        if members::find_by_username(&mut conn, username)
            .await?
            .is_some()
        {
            continue;
        }
        let hash = passwords.hash(&password).await.map_err(|e| e.to_string())?;
        let email = format!("{username}@demo.filmlog.invalid");
        let member = members::insert(
            &mut conn,
            &NewMember {
                username,
                email: &email,
                password_hash: &hash,
            },
        )
        .await?;
        let changes = MemberChanges {
            display_name: Some(Some((*display_name).to_owned())),
            bio: Some(Some((*bio).to_owned())),
            ..Default::default()
        };
        members::update_profile(&mut conn, member.id, &changes).await?;
        created += 1;
    }
    println!(
        "seed: {created} demo members created, {} already present",
        DEMO_MEMBERS.len() - created
    );
    Ok(())
}
