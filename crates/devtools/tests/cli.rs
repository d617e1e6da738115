//! `filmlog-dev`: its refusals, usage errors and help.

use filmlog_test_support::TestDatabase;

const BIN: &str = env!("CARGO_BIN_EXE_filmlog-dev");

/// Runs `filmlog-dev args` with only `env` configured: its exit code and stderr.
fn filmlog_dev(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let (code, _, stderr) = filmlog_test_support::run_command(BIN, args, env);
    (code, stderr)
}

#[test]
fn help_and_usage_errors() {
    for args in [
        &["--help"][..],
        &["gen-data", "--help"],
        &["bench-tokens", "--help"],
    ] {
        let (code, stderr) = filmlog_dev(args, &[]);
        assert_eq!(code, 0, "{args:?}: {stderr}");
    }
    for args in [
        &["gen-data", "--profile", "huge"][..],
        &["gen-data"],
        &["bench-tokens", "0"],
        &["bench-tokens", "many"],
        &["serve"],
    ] {
        let (code, stderr) = filmlog_dev(args, &[]);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
    }
    let (code, stderr) = filmlog_dev(&["gen-data", "--profile", "huge"], &[]);
    assert!(
        code == 2 && stderr.contains("[possible values: ci, medium]"),
        "{stderr}"
    );
}

#[actix_web::test]
async fn generated_data_commands_refuse_a_database_they_did_not_make() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    let new = filmlog_persistence::members::NewMember {
        username: "ana",
        email: &filmlog_domain::Email::parse("ana@example.com").unwrap_or_else(|e| panic!("{e}")),
        password_hash: "x",
    };
    filmlog_persistence::members::insert(&mut conn, &new)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let key = "0123456789abcdefghijklmnopqrstuvwxyz";
    let (code, stderr) = filmlog_dev(
        &["bench-tokens", "10"],
        &[("DATABASE_URL", db.url()), ("FILMLOG_JWT_SECRET", key)],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("works only on a database made by gen-data"),
        "{stderr}"
    );
    let (code, stderr) = filmlog_dev(
        &["gen-data", "--profile", "ci"],
        &[("DATABASE_URL", db.url())],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("needs a fresh database"), "{stderr}");
    let (code, stderr) = filmlog_dev(&["gen-data", "--profile", "ci"], &[]);
    assert_eq!(code, 78, "{stderr}");
    // gen-data wrote none of its members.
    let generated = filmlog_persistence::members::find_by_username(&mut conn, "u1")
        .await
        .ok()
        .flatten();
    assert!(generated.is_none());
}
