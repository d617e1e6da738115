//! Third-party apps: registering them, the authorization code grant with PKCE and the device grant
//! driven end to end by an off-the-shelf OAuth client library (the `oauth2` crate) and, for the
//! consent page, by a real headless Chromium; their refusals; scopes on every operation (a matrix
//! generated from the route table); and the member's view of the apps they authorised.

use std::time::Duration;

use filmlog_test_support::{TestApp, TestMember};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, DeviceAuthorizationUrl,
    HttpClientError, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken,
    RequestTokenError, RevocationUrl, Scope, StandardDeviceAuthorizationResponse,
    StandardRevocableToken, TokenResponse, TokenUrl,
};
use serde_json::{Value, json};

const SCOPES: [&str; 7] = [
    "read",
    "diary",
    "social",
    "lists",
    "account",
    "portability",
    "webhooks",
];

async fn sql(app: &TestApp, statement: &str) {
    use diesel_async::RunQueryDsl;
    let mut conn = app.db.connect().await;
    diesel::sql_query(statement)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
}

/// A member's app, registered through the API: its client id and (confidential) secret.
async fn register(
    app: &TestApp,
    owner: &TestMember,
    redirect: &str,
    confidential: bool,
) -> (String, Option<String>) {
    let body = app
        .post(
            "/api/v1/me/apps",
            Some(&owner.access_token),
            &json!({"name": "Scrobbler", "description": "Logs what you play", "homepage": "https://scrobbler.example",
                    "redirect_uris": [redirect], "confidential": confidential}),
        )
        .await
        .assert_status(201)
        .clone();
    (
        body["client_id"].as_str().unwrap_or_default().to_owned(),
        body["client_secret"].as_str().map(str::to_owned),
    )
}

/// The `oauth2` crate's HTTP client over reqwest 0.13: no redirects followed, and the revocation
/// URL's `https` (which the crate insists on) taken back to the test server's plain `http`.
async fn send(
    client: reqwest::Client,
    mut request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, HttpClientError<reqwest::Error>> {
    let uri = request.uri().to_string();
    if let Some(rest) = uri.strip_prefix("https://") {
        *request.uri_mut() = format!("http://{rest}")
            .parse()
            .map_err(|e: oauth2::http::uri::InvalidUri| HttpClientError::Other(e.to_string()))?;
    }
    let request: reqwest::Request = request.try_into().map_err(Box::new)?;
    let response = client.execute(request).await.map_err(Box::new)?;
    let mut builder = oauth2::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let body = response.bytes().await.map_err(Box::new)?.to_vec();
    builder.body(body).map_err(HttpClientError::Http)
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"))
}

type Client = BasicClient<
    oauth2::EndpointSet,
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
    oauth2::EndpointSet,
>;

fn client(app: &TestApp, client_id: &str, secret: Option<&str>, redirect: &str) -> Client {
    let url = |path: &str| app.url(path);
    let https = |path: &str| app.url(path).replacen("http://", "https://", 1);
    let mut client = BasicClient::new(ClientId::new(client_id.to_owned()))
        .set_auth_uri(AuthUrl::new(url("/oauth/authorize")).unwrap_or_else(|e| panic!("{e}")))
        .set_token_uri(TokenUrl::new(url("/oauth/token")).unwrap_or_else(|e| panic!("{e}")))
        .set_redirect_uri(RedirectUrl::new(redirect.to_owned()).unwrap_or_else(|e| panic!("{e}")))
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(url("/oauth/device/code"))
                .unwrap_or_else(|e| panic!("{e}")),
        )
        .set_revocation_url(
            RevocationUrl::new(https("/oauth/revoke")).unwrap_or_else(|e| panic!("{e}")),
        );
    if let Some(secret) = secret {
        client = client.set_client_secret(ClientSecret::new(secret.to_owned()));
    }
    client
}

/// The authorization URL a client sends a member to, with its PKCE verifier and state.
fn authorize_url(client: &Client, scopes: &[&str]) -> (String, PkceCodeVerifier, CsrfToken) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge);
    for scope in scopes {
        request = request.add_scope(Scope::new((*scope).to_owned()));
    }
    let (url, state) = request.url();
    (url.to_string(), verifier, state)
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The value of a hidden field of a page.
fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(
        html[start..end]
            .replace("&amp;", "&")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">"),
    )
}

/// The `href` of a page's link by id.
fn hidden_href(html: &str, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\" href=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].replace("&amp;", "&"))
}

/// A browser-like visitor of the pages over plain HTTP (cookies by hand, redirects not followed).
struct Visitor<'a> {
    app: &'a TestApp,
    http: reqwest::Client,
    cookie: Option<String>,
}

struct Page {
    status: u16,
    location: Option<String>,
    text: String,
    set_cookie: Option<String>,
}

impl<'a> Visitor<'a> {
    fn new(app: &'a TestApp) -> Self {
        Visitor {
            app,
            http: no_redirects(),
            cookie: None,
        }
    }

    async fn finish(&mut self, req: reqwest::RequestBuilder) -> Page {
        let req = match &self.cookie {
            Some(c) => req.header("cookie", c.clone()),
            None => req,
        };
        let res = req.send().await.unwrap_or_else(|e| panic!("request: {e}"));
        let header = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let location = header("location");
        let set_cookie = header("set-cookie");
        if let Some(c) = &set_cookie {
            self.cookie = c.split(';').next().map(str::to_owned);
        }
        Page {
            status: res.status().as_u16(),
            location,
            set_cookie,
            text: res.text().await.unwrap_or_default(),
        }
    }

    async fn get(&mut self, url: &str) -> Page {
        let url = if url.starts_with('/') {
            self.app.url(url)
        } else {
            url.to_owned()
        };
        let req = self.http.get(url);
        self.finish(req).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let req = self
            .http
            .post(self.app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", self.app.url("").trim_end_matches('/').to_owned())
            .body(body);
        self.finish(req).await
    }

    /// Opens `url` (a page that asks to sign in first) and signs in as `who`.
    async fn sign_in(&mut self, url: &str, who: &TestMember) -> Page {
        let first = self.get(url).await;
        assert_eq!(first.status, 200, "{}", first.text);
        assert!(first.text.contains("Sign in to Filmlog"), "{}", first.text);
        let next = hidden(&first.text, "next").unwrap_or_default();
        let signed = self
            .post(
                "/oauth/sign-in",
                &[
                    ("username", &who.username),
                    ("password", &who.password),
                    ("next", &next),
                ],
            )
            .await;
        assert_eq!(signed.status, 303, "{}", signed.text);
        let cookie = signed.set_cookie.clone().unwrap_or_default();
        assert!(
            cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Lax")
                && cookie.contains("Path=/oauth"),
            "{cookie}"
        );
        let next = signed.location.clone().unwrap_or_default();
        self.get(&next).await
    }

    /// Answers a device's user code as `who` (signing in when the pages ask): the page it ends on.
    async fn answer_device(&mut self, user_code: &str, who: &TestMember, decision: &str) -> Page {
        let url = format!("/oauth/device?user_code={user_code}");
        let mut consent = self.get(&url).await;
        if consent.text.contains("Sign in to Filmlog") {
            self.cookie = None;
            consent = self.sign_in(&url, who).await;
        }
        assert_eq!(consent.status, 200, "{}", consent.text);
        let csrf = hidden(&consent.text, "csrf").unwrap_or_default();
        let typed = hidden(&consent.text, "user_code").unwrap_or_default();
        self.post(
            "/oauth/device",
            &[
                ("user_code", &typed),
                ("csrf", &csrf),
                ("decision", decision),
            ],
        )
        .await
    }

    /// The consent page's decision for an authorization request: where the member is sent.
    async fn decide(&mut self, consent: &Page, allow: bool) -> Page {
        assert_eq!(consent.status, 200, "{}", consent.text);
        let mut fields: Vec<(String, String)> = Vec::new();
        for name in [
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "code_challenge",
            "code_challenge_method",
            "csrf",
        ] {
            if let Some(v) = hidden(&consent.text, name) {
                fields.push((name.to_owned(), v));
            }
        }
        fields.push((
            "decision".to_owned(),
            if allow { "allow" } else { "deny" }.to_owned(),
        ));
        let refs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.post("/oauth/authorize", &refs).await
    }
}

/// A confidential app's whole code flow with the `oauth2` crate, the member consenting over HTTP:
/// the code it gets, and the verifier to exchange it with.
async fn consented_code(
    app: &TestApp,
    client: &Client,
    who: &TestMember,
    scopes: &[&str],
) -> (String, PkceCodeVerifier) {
    let (url, verifier, state) = authorize_url(client, scopes);
    let mut visitor = Visitor::new(app);
    let consent = visitor.sign_in(&url, who).await;
    let back = visitor.decide(&consent, true).await;
    assert_eq!(back.status, 303, "{}", back.text);
    let location = back.location.unwrap_or_default();
    assert_eq!(
        query_param(&location, "state").as_deref(),
        Some(state.secret().as_str())
    );
    assert_eq!(
        query_param(&location, "iss"),
        Some(app.url("").trim_end_matches('/').to_owned())
    );
    (query_param(&location, "code").unwrap_or_default(), verifier)
}

fn server_error<T: std::fmt::Debug>(
    result: Result<
        T,
        RequestTokenError<
            HttpClientError<reqwest::Error>,
            oauth2::StandardErrorResponse<BasicErrorResponseType>,
        >,
    >,
) -> BasicErrorResponseType {
    match result {
        Err(RequestTokenError::ServerResponse(e)) => e.error().clone(),
        other => panic!("expected an OAuth error, got {other:?}"),
    }
}

#[actix_web::test]
async fn a_confidential_app_gets_rotating_tokens_with_pkce_and_the_oauth2_crate() {
    let app = TestApp::spawn().await;
    let dev = app.member("dev").await;
    let ana = app.member("ana").await;
    let slug = app.film("Close-Up", 1990).await;
    let redirect = "https://scrobbler.example/callback";
    let (client_id, secret) = register(&app, &dev, redirect, true).await;
    let client = client(&app, &client_id, secret.as_deref(), redirect);
    let http_client = no_redirects();
    let http = |req| send(http_client.clone(), req);

    let (code, verifier) = consented_code(&app, &client, &ana, &["read", "diary"]).await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("exchange: {e:?}"));
    let granted: Vec<String> = tokens
        .scopes()
        .map(|s| s.iter().map(|s| s.to_string()).collect())
        .unwrap_or_default();
    assert_eq!(granted, ["read", "diary"]);
    assert!(tokens.expires_in().is_some());
    let access = tokens.access_token().secret().clone();
    // The grant's powers: reading and the diary, nothing else.
    let me = app.get("/api/v1/me", Some(&access)).await;
    assert_eq!(me.assert_status(200)["username"], "ana");
    assert!(
        me.json.get("email").is_none(),
        "no scope reaches the address: {}",
        me.text
    );
    let page = app.get("/api/v1/members/ana", Some(&access)).await;
    assert!(
        page.assert_status(200).get("email").is_none(),
        "{}",
        page.text
    );
    let own = app
        .get("/api/v1/members/ana", Some(&ana.access_token))
        .await;
    assert_eq!(own.assert_status(200)["email"], "ana@example.com");
    app.send(
        reqwest::Method::PUT,
        &format!("/api/v1/films/{slug}/rating"),
        Some(&access),
        Some(&json!({"rating": 4.5})),
    )
    .await
    .assert_status(204);
    let refused = app
        .post("/api/v1/lists", Some(&access), &json!({"name": "Mine"}))
        .await;
    refused.assert_problem(403, "insufficient_scope");
    assert_eq!(
        refused.header("www-authenticate"),
        Some("Bearer realm=\"filmlog\", error=\"insufficient_scope\", scope=\"lists\"")
    );
    app.get("/api/v1/me/sessions", Some(&access))
        .await
        .assert_problem(403, "insufficient_scope");

    // The member sees the app; its owner sees one grant.
    let listed = app
        .get("/api/v1/me/authorized-apps", Some(&ana.access_token))
        .await;
    let item = &listed.assert_status(200)["items"][0];
    assert_eq!(item["client_id"], client_id.as_str());
    assert_eq!(item["scopes"], json!(["read", "diary"]));
    let owned = app
        .get(
            &format!("/api/v1/me/apps/{client_id}"),
            Some(&dev.access_token),
        )
        .await;
    assert_eq!(owned.assert_status(200)["tokens"], 1);
    assert_eq!(owned.json["members"], 1);
    assert!(owned.json.get("client_secret").is_none());

    // The code works once: presented again, it is refused and the grant it gave ends.
    let (_, verifier) = PkceCodeChallenge::new_random_sha256();
    let again = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await;
    assert_eq!(server_error(again), BasicErrorResponseType::InvalidGrant);
    app.get("/api/v1/me", Some(&access))
        .await
        .assert_problem(401, "invalid_token");

    // A new grant: its refresh token rotates, and a reused one ends the grant.
    let (code, verifier) = consented_code(&app, &client, &ana, &["read"]).await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("exchange: {e:?}"));
    let first_refresh = tokens
        .refresh_token()
        .cloned()
        .unwrap_or_else(|| RefreshToken::new(String::new()));
    let refreshed = client
        .exchange_refresh_token(&first_refresh)
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("refresh: {e:?}"));
    let new_access = refreshed.access_token().secret().clone();
    app.get("/api/v1/me", Some(&new_access))
        .await
        .assert_status(200);
    // First-party refresh does not take an app's refresh token.
    let second_refresh = refreshed
        .refresh_token()
        .cloned()
        .unwrap_or_else(|| RefreshToken::new(String::new()));
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": second_refresh.secret()}),
    )
    .await
    .assert_problem(401, "invalid_refresh_token");
    // Nor can a refresh widen the grant.
    let wider = client
        .exchange_refresh_token(&second_refresh)
        .add_scope(Scope::new("lists".to_owned()))
        .request_async(&http)
        .await;
    assert_eq!(server_error(wider), BasicErrorResponseType::InvalidScope);
    // The refused ones spent nothing: the successor still works once.
    client
        .exchange_refresh_token(&second_refresh)
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("refresh: {e:?}"));
    let reused = client
        .exchange_refresh_token(&first_refresh)
        .request_async(&http)
        .await;
    assert_eq!(server_error(reused), BasicErrorResponseType::InvalidGrant);
    app.get("/api/v1/me", Some(&new_access))
        .await
        .assert_problem(401, "invalid_token");

    // Another client cannot spend this app's refresh tokens; a wrong secret is no client.
    let (code, verifier) = consented_code(&app, &client, &ana, &["read"]).await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("exchange: {e:?}"));
    let refresh = tokens
        .refresh_token()
        .cloned()
        .unwrap_or_else(|| RefreshToken::new(String::new()));
    let (other_id, _) = register(&app, &dev, redirect, false).await;
    let other = self::client(&app, &other_id, None, redirect);
    let stolen = other
        .exchange_refresh_token(&refresh)
        .request_async(&http)
        .await;
    assert_eq!(server_error(stolen), BasicErrorResponseType::InvalidGrant);
    let impostor = self::client(&app, &client_id, Some("not-the-secret"), redirect);
    let wrong = impostor
        .exchange_refresh_token(&refresh)
        .request_async(&http)
        .await;
    assert_eq!(server_error(wrong), BasicErrorResponseType::InvalidClient);

    // Revocation (RFC 7009) ends the grant at once.
    let access = tokens.access_token().secret().clone();
    app.get("/api/v1/me", Some(&access))
        .await
        .assert_status(200);
    client
        .revoke_token(StandardRevocableToken::RefreshToken(refresh.clone()))
        .unwrap_or_else(|e| panic!("{e}"))
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("revoke: {e:?}"));
    app.get("/api/v1/me", Some(&access))
        .await
        .assert_problem(401, "invalid_token");
    // Revoking an unknown token is answered the same.
    client
        .revoke_token(StandardRevocableToken::RefreshToken(RefreshToken::new(
            "nothing".to_owned(),
        )))
        .unwrap_or_else(|e| panic!("{e}"))
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("revoke: {e:?}"));

    // Rotating the secret: the old one stops working.
    let rotated = app
        .post(
            &format!("/api/v1/me/apps/{client_id}/secret"),
            Some(&dev.access_token),
            &json!({}),
        )
        .await;
    let new_secret = rotated.assert_status(200)["client_secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_ne!(Some(new_secret.as_str()), secret.as_deref());
    let stale = client
        .exchange_refresh_token(&refresh)
        .request_async(&http)
        .await;
    assert_eq!(server_error(stale), BasicErrorResponseType::InvalidClient);
}

#[actix_web::test]
async fn codes_are_bound_to_their_verifier_redirect_and_client_and_expire() {
    let app = TestApp::spawn().await;
    let dev = app.member("dev").await;
    let ana = app.member("ana").await;
    let redirect = "http://127.0.0.1/callback";
    let (client_id, _) = register(&app, &dev, redirect, false).await;
    // A native app's loopback redirect matches with any port (RFC 8252).
    let on_port = "http://127.0.0.1:53682/callback";
    let client = client(&app, &client_id, None, on_port);
    let http_client = no_redirects();
    let http = |req| send(http_client.clone(), req);

    // Wrong verifier.
    let (code, _) = consented_code(&app, &client, &ana, &["read"]).await;
    let (_, wrong) = PkceCodeChallenge::new_random_sha256();
    let refused = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(wrong)
        .request_async(&http)
        .await;
    assert_eq!(server_error(refused), BasicErrorResponseType::InvalidGrant);

    // Mismatched redirect: the code was issued for another one.
    let (code, verifier) = consented_code(&app, &client, &ana, &["read"]).await;
    let elsewhere = self::client(&app, &client_id, None, "http://127.0.0.1:53682/other");
    let refused = elsewhere
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await;
    assert_eq!(server_error(refused), BasicErrorResponseType::InvalidGrant);

    // Another client.
    let (other_id, _) = register(&app, &dev, redirect, false).await;
    let other = self::client(&app, &other_id, None, on_port);
    let (code, verifier) = consented_code(&app, &client, &ana, &["read"]).await;
    let refused = other
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await;
    assert_eq!(server_error(refused), BasicErrorResponseType::InvalidGrant);

    // Expired.
    let (code, verifier) = consented_code(&app, &client, &ana, &["read"]).await;
    sql(
        &app,
        "UPDATE oauth_codes SET expires_at = now() - interval '1 second'",
    )
    .await;
    let refused = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await;
    assert_eq!(server_error(refused), BasicErrorResponseType::InvalidGrant);

    // A public app may not send a secret; no grant_type is an error.
    let form = |pairs: &[(&str, &str)]| {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    };
    let raw = http_client
        .post(app.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("client_id", &client_id),
            ("client_secret", "x"),
            ("grant_type", "authorization_code"),
            ("code", "x"),
        ]))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(raw.status(), 401);
    assert_eq!(
        raw.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let body: Value = raw.json().await.unwrap_or_default();
    assert_eq!(body["error"], "invalid_client");
    // A client id no app could have is no client (and never reaches the database).
    let raw = http_client
        .post(app.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("client_id", "a\u{0}b"),
            ("grant_type", "refresh_token"),
        ]))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(raw.status(), 401);
    let raw = http_client
        .post(app.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("client_id", &client_id),
            ("grant_type", "password"),
        ]))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(raw.status(), 400);
    let body: Value = raw.json().await.unwrap_or_default();
    assert_eq!(body["error"], "unsupported_grant_type");
    let raw = http_client
        .post(app.url("/oauth/token"))
        .json(&json!({"client_id": client_id, "grant_type": "authorization_code"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(raw.status(), 400);
    let body: Value = raw.json().await.unwrap_or_default();
    assert_eq!(body["error"], "invalid_request");
}

#[actix_web::test]
async fn the_authorize_page_refuses_what_it_cannot_trust() {
    let app = TestApp::spawn().await;
    let dev = app.member("dev").await;
    let ana = app.member("ana").await;
    let redirect = "https://scrobbler.example/callback";
    let (client_id, _) = register(&app, &dev, redirect, false).await;
    let mut visitor = Visitor::new(&app);
    let authorize = |params: &[(&str, &str)]| {
        format!(
            "/oauth/authorize?{}",
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params)
                .finish()
        )
    };
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    // An unknown app or an unregistered redirect: told here, never redirected.
    for params in [
        vec![("client_id", "nobody"), ("redirect_uri", redirect)],
        vec![("client_id", "no\u{0}body"), ("redirect_uri", redirect)],
        vec![
            ("client_id", client_id.as_str()),
            ("redirect_uri", "https://evil.example/callback"),
        ],
        // A parameter sent twice makes no request (RFC 6749 §3.1).
        vec![
            ("client_id", client_id.as_str()),
            ("redirect_uri", redirect),
            ("redirect_uri", "https://scrobbler.example/other"),
        ],
    ] {
        let page = visitor.get(&authorize(&params)).await;
        assert_eq!(page.status, 400, "{}", page.text);
        assert!(page.location.is_none());
    }
    // Anything else is told on the page too, with a link back to the app carrying the error (never
    // an automatic redirect): no PKCE, plain PKCE, an unknown scope, another response type.
    for (params, error) in [
        (
            vec![("response_type", "code"), ("scope", "read")],
            "invalid_request",
        ),
        (
            vec![
                ("response_type", "code"),
                ("scope", "read"),
                ("code_challenge", challenge),
                ("code_challenge_method", "plain"),
            ],
            "invalid_request",
        ),
        (
            vec![
                ("response_type", "code"),
                ("scope", "read admin"),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
            ],
            "invalid_scope",
        ),
        (
            vec![
                ("response_type", "token"),
                ("scope", "read"),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
            ],
            "unsupported_response_type",
        ),
    ] {
        let mut params = params;
        params.extend([
            ("client_id", client_id.as_str()),
            ("redirect_uri", redirect),
            ("state", "s1"),
        ]);
        let page = visitor.get(&authorize(&params)).await;
        assert_eq!(page.status, 400, "{params:?}: {}", page.text);
        assert!(page.location.is_none());
        let location = hidden_href(&page.text, "back").unwrap_or_default();
        assert!(location.starts_with(redirect), "{location}");
        assert_eq!(
            query_param(&location, "error").as_deref(),
            Some(error),
            "{params:?}"
        );
        assert_eq!(query_param(&location, "state").as_deref(), Some("s1"));
    }

    let good = authorize(&[
        ("response_type", "code"),
        ("client_id", &client_id),
        ("redirect_uri", redirect),
        ("scope", "read social"),
        ("state", "s2"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]);
    // A wrong password is told on the page.
    let first = visitor.get(&good).await;
    let next = hidden(&first.text, "next").unwrap_or_default();
    let wrong = visitor
        .post(
            "/oauth/sign-in",
            &[
                ("username", "ana"),
                ("password", "not it at all"),
                ("next", &next),
            ],
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.text.contains("wrong"), "{}", wrong.text);
    let consent = visitor.sign_in(&good, &ana).await;
    assert!(consent.text.contains("Scrobbler"), "{}", consent.text);
    assert!(
        consent.text.contains("data-scope=\"social\""),
        "{}",
        consent.text
    );
    assert!(!consent.text.contains("data-scope=\"diary\""));
    for header in [
        "x-frame-options",
        "content-security-policy",
        "cache-control",
    ] {
        let res = no_redirects()
            .get(app.url(&good))
            .header("cookie", visitor.cookie.clone().unwrap_or_default())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(res.headers().contains_key(header), "{header}");
        if header == "content-security-policy" {
            let csp = res
                .headers()
                .get(header)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        }
    }
    let allowed = visitor.decide(&consent, true).await;
    assert_eq!(allowed.status, 303, "{}", allowed.text);
    // The pages' sign-in ends with the decision: the next person at this computer signs in again.
    assert!(
        allowed
            .set_cookie
            .as_deref()
            .is_some_and(|c| c.contains("Max-Age=0")),
        "{:?}",
        allowed.set_cookie
    );
    let again = visitor.get(&good).await;
    assert!(again.text.contains("Sign in to Filmlog"), "{}", again.text);
    // Without the form token (another site posting), with another request's, or from another
    // origin: nothing happens.
    let consent = visitor.sign_in(&good, &ana).await;
    let csrf = hidden(&consent.text, "csrf").unwrap_or_default();
    let fields = [
        ("response_type", "code"),
        ("client_id", client_id.as_str()),
        ("redirect_uri", redirect),
        ("scope", "read social"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("state", "s2"),
        ("decision", "allow"),
    ];
    let forged = visitor.post("/oauth/authorize", &fields).await;
    assert_eq!(forged.status, 403, "{}", forged.text);
    let mut with_csrf = fields.to_vec();
    with_csrf.push(("csrf", &csrf));
    let mut wider = with_csrf.clone();
    wider[3] = ("scope", "read social lists");
    let swapped = visitor.post("/oauth/authorize", &wider).await;
    assert_eq!(swapped.status, 403, "{}", swapped.text);
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&with_csrf)
        .finish();
    let cross = no_redirects()
        .post(app.url("/oauth/authorize"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "https://evil.example")
        .header("cookie", visitor.cookie.clone().unwrap_or_default())
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cross.status(), 403);
    // A sign-in older than ten minutes must be made again before allowing.
    sql(
        &app,
        "UPDATE sessions SET authenticated_at = now() - interval '11 minutes'",
    )
    .await;
    let stale = visitor.post("/oauth/authorize", &with_csrf).await;
    assert_eq!(stale.status, 401, "{}", stale.text);
    assert!(stale.text.contains("Sign in to Filmlog"), "{}", stale.text);
    // The member was told by mail of the app they allowed (the first decision above).
    use diesel_async::RunQueryDsl;
    let mut conn = app.db.connect().await;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let told =
        diesel::sql_query("SELECT count(*) AS n FROM mail_outbox WHERE kind = 'app_authorized'")
            .get_result::<N>(&mut conn)
            .await
            .map(|r| r.n)
            .unwrap_or_default();
    assert_eq!(told, 1);
}

#[actix_web::test]
async fn two_factor_members_answer_a_code_on_the_pages() {
    let app = TestApp::spawn().await;
    let dev = app.member("dev").await;
    let ana = app.member("ana").await;
    let (_, recovery) = crate::two_factor::enrol(&app, &ana).await;
    let redirect = "https://scrobbler.example/callback";
    let (client_id, _) = register(&app, &dev, redirect, false).await;
    let client = client(&app, &client_id, None, redirect);
    let (url, _, _) = authorize_url(&client, &["read"]);
    let mut visitor = Visitor::new(&app);
    let first = visitor.get(&url).await;
    let next = hidden(&first.text, "next").unwrap_or_default();
    let asked = visitor
        .post(
            "/oauth/sign-in",
            &[
                ("username", "ana"),
                ("password", &ana.password),
                ("next", &next),
            ],
        )
        .await;
    assert_eq!(asked.status, 200, "{}", asked.text);
    assert!(asked.set_cookie.is_none(), "no sign-in before the code");
    let challenge = hidden(&asked.text, "challenge").unwrap_or_default();
    let wrong = visitor
        .post(
            "/oauth/sign-in/two-factor",
            &[
                ("challenge", &challenge),
                ("code", "000000"),
                ("next", &next),
            ],
        )
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.text);
    let signed = visitor
        .post(
            "/oauth/sign-in/two-factor",
            &[
                ("challenge", &challenge),
                ("code", &recovery[0]),
                ("next", &next),
            ],
        )
        .await;
    assert_eq!(signed.status, 303, "{}", signed.text);
    let consent = visitor.get(&signed.location.unwrap_or_default()).await;
    let back = visitor.decide(&consent, true).await;
    assert_eq!(back.status, 303);
    assert!(query_param(&back.location.unwrap_or_default(), "code").is_some());
}

/// The consent page in a real browser: sign in, allow (the browser lands on the redirect with a
/// code the `oauth2` crate exchanges), then deny (it lands with `access_denied`).
#[actix_web::test]
async fn the_consent_page_works_in_headless_chromium() {
    let app = TestApp::spawn().await;
    let dev = app.member("dev").await;
    let ana = app.member("ana").await;
    // The browser is sent back to a loopback address on this server's port (any port matches).
    let port = app
        .url("")
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let (client_id, _) = register(&app, &dev, "http://127.0.0.1/callback", false).await;
    let client = client(&app, &client_id, None, &redirect);
    let http_client = no_redirects();
    let http = |req| send(http_client.clone(), req);

    let (url, verifier, state) = authorize_url(&client, &["read", "lists"]);
    let landed = chromium(&json!([
        {"navigate": url},
        {"wait_selector": "#username"},
        {"fill": "#username", "value": ana.username},
        {"fill": "#password", "value": ana.password},
        {"click": "#sign-in"},
        {"wait_selector": "#allow", "timeout": 15},
        {"text": "#app-name"},
        {"click": "#allow"},
        {"wait_url_prefix": redirect, "timeout": 15},
    ]))
    .await;
    assert_eq!(landed["results"][6], "Scrobbler", "{landed}");
    let back = landed["results"][8].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        query_param(&back, "state").as_deref(),
        Some(state.secret().as_str())
    );
    let code = query_param(&back, "code").unwrap_or_else(|| panic!("no code in {back}"));
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("exchange: {e:?}"));
    app.post(
        "/api/v1/lists",
        Some(tokens.access_token().secret()),
        &json!({"name": "From an app"}),
    )
    .await
    .assert_status(201);

    let (url, _, state) = authorize_url(&client, &["read"]);
    let landed = chromium(&json!([
        {"navigate": url},
        {"wait_selector": "#username"},
        {"fill": "#username", "value": ana.username},
        {"fill": "#password", "value": ana.password},
        {"click": "#sign-in"},
        {"wait_selector": "#deny", "timeout": 15},
        {"click": "#deny"},
        {"wait_url_prefix": redirect, "timeout": 15},
    ]))
    .await;
    let back = landed["results"][7].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("access_denied"),
        "{back}"
    );
    assert_eq!(
        query_param(&back, "state").as_deref(),
        Some(state.secret().as_str())
    );
    assert!(query_param(&back, "code").is_none());
}

/// Runs `steps` in headless Chromium (tests/browser/cdp.py over the DevTools pipe).
async fn chromium(steps: &Value) -> Value {
    let chromium =
        std::env::var("FILMLOG_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/browser/cdp.py");
    let steps = steps.to_string();
    let output = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = std::process::Command::new("/usr/bin/python3")
            .args([script, &chromium, "-"])
            .env("CDP_TIMEOUT", "60")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("python3: {e}"));
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(steps.as_bytes());
        }
        child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("cdp.py: {e}"))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let result: Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    assert_eq!(result["ok"], true, "the browser failed: {result}");
    result
}

#[actix_web::test]
async fn a_tv_signs_in_with_the_device_grant() {
    let app = TestApp::spawn().await;
    let dev = app.member("dev").await;
    let ana = app.member("ana").await;
    let (client_id, _) = register(&app, &dev, "http://127.0.0.1/callback", false).await;
    let client = client(&app, &client_id, None, "http://127.0.0.1/callback");
    let http_client = no_redirects();
    let http = |req| send(http_client.clone(), req);

    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("read".to_owned()))
        .add_scope(Scope::new("diary".to_owned()))
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("device code: {e:?}"));
    let user_code = details.user_code().secret().clone();
    assert_eq!(user_code.len(), 9, "{user_code}");
    assert_eq!(details.interval(), Duration::from_secs(5));
    assert_eq!(
        details.verification_uri().as_str(),
        app.url("/oauth/device")
    );
    // Polling at once is pending; polling again too soon is told to slow down.
    let poll = |code: String| {
        let http_client = http_client.clone();
        let client_id = client_id.clone();
        let url = app.url("/oauth/token");
        async move {
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                    ("device_code", code.as_str()),
                    ("client_id", client_id.as_str()),
                ])
                .finish();
            let res = http_client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or_default())
        }
    };
    let device_code = details.device_code().secret().clone();
    let (status, body) = poll(device_code.clone()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("authorization_pending"))
    );
    let (status, body) = poll(device_code.clone()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("slow_down")));

    // The member opens the verification page, signs in, types the code and allows.
    let mut visitor = Visitor::new(&app);
    let form = visitor.sign_in("/oauth/device", &ana).await;
    assert!(form.text.contains("id=\"user_code\""), "{}", form.text);
    let unknown = visitor.get("/oauth/device?user_code=BCDF-GHJK").await;
    assert_eq!(unknown.status, 404);
    let consent = visitor
        .get(&format!(
            "/oauth/device?user_code={}",
            user_code.to_lowercase()
        ))
        .await;
    assert_eq!(consent.status, 200, "{}", consent.text);
    assert!(
        consent.text.contains("data-scope=\"diary\""),
        "{}",
        consent.text
    );
    let csrf = hidden(&consent.text, "csrf").unwrap_or_default();
    let typed = hidden(&consent.text, "user_code").unwrap_or_default();
    let forged = visitor
        .post(
            "/oauth/device",
            &[("user_code", &typed), ("decision", "allow")],
        )
        .await;
    assert_eq!(forged.status, 403);
    let done = visitor
        .post(
            "/oauth/device",
            &[
                ("user_code", &typed),
                ("csrf", &csrf),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(done.text.contains("id=\"done\""));
    // The pages' sign-in ended with the decision; signed in again, the code is answered once.
    let again = visitor
        .post(
            "/oauth/device",
            &[("user_code", &typed), ("csrf", &csrf), ("decision", "deny")],
        )
        .await;
    assert_eq!(again.status, 401, "{}", again.text);
    let again = visitor
        .sign_in(&format!("/oauth/device?user_code={typed}"), &ana)
        .await;
    assert_eq!(again.status, 404, "{}", again.text);

    // The library polls, waiting as told, and gets the tokens.
    let tokens = client
        .exchange_device_access_token(&details)
        .request_async(&http, tokio::time::sleep, Some(Duration::from_secs(60)))
        .await
        .unwrap_or_else(|e| panic!("device token: {e:?}"));
    let access = tokens.access_token().secret().clone();
    assert_eq!(
        app.get("/api/v1/me", Some(&access))
            .await
            .assert_status(200)["username"],
        "ana"
    );
    // A device code gives tokens once.
    let (status, body) = poll(device_code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // A denied device is told so; an expired one too.
    let denied: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("read".to_owned()))
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("device code: {e:?}"));
    let answered = visitor
        .answer_device(denied.user_code().secret(), &ana, "deny")
        .await;
    assert_eq!(answered.status, 200, "{}", answered.text);
    let (status, body) = poll(denied.device_code().secret().clone()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("access_denied"))
    );

    let expired: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("read".to_owned()))
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("device code: {e:?}"));
    sql(&app, "UPDATE oauth_device_codes SET expires_at = now() - interval '1 second' WHERE decision IS NULL").await;
    let (status, body) = poll(expired.device_code().secret().clone()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("expired_token"))
    );
    let late = visitor
        .sign_in(
            &format!("/oauth/device?user_code={}", expired.user_code().secret()),
            &ana,
        )
        .await;
    assert_eq!(late.status, 404, "an expired code cannot be allowed");
    // Guessing codes is throttled: wrong ones in a row lock this network out for a while.
    let mut locked = 0;
    for _ in 0..8 {
        let guess = visitor.get("/oauth/device?user_code=BCDF-GHJK").await;
        assert!(matches!(guess.status, 404 | 429), "{}", guess.status);
        locked += usize::from(guess.status == 429);
    }
    assert!(locked > 0, "no guess was refused");

    // An unknown scope is refused at the start.
    let refused = client
        .exchange_device_code()
        .add_scope(Scope::new("everything".to_owned()))
        .request_async(&http)
        .await;
    let refused: Result<StandardDeviceAuthorizationResponse, _> = refused;
    assert_eq!(server_error(refused), BasicErrorResponseType::InvalidScope);
}

#[actix_web::test]
async fn revoking_an_app_ends_its_tokens_at_once() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let bob = app.member("bob").await;
    let token = app.app_token(&ana, "read").await;
    app.get("/api/v1/me", Some(&token)).await.assert_status(200);
    let listed = app
        .get("/api/v1/me/authorized-apps", Some(&ana.access_token))
        .await;
    let client_id = listed.assert_status(200)["items"][0]["client_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // Not someone else's to revoke; an app no one authorised is 404.
    app.delete(
        &format!("/api/v1/me/authorized-apps/{client_id}"),
        &bob.access_token,
    )
    .await
    .assert_problem(404, "not_found");
    app.delete("/api/v1/me/authorized-apps/no-such-app", &ana.access_token)
        .await
        .assert_problem(404, "not_found");
    app.delete(
        &format!("/api/v1/me/authorized-apps/{client_id}"),
        &ana.access_token,
    )
    .await
    .assert_status(204);
    app.get("/api/v1/me", Some(&token))
        .await
        .assert_problem(401, "invalid_token");
    let listed = app
        .get("/api/v1/me/authorized-apps", Some(&ana.access_token))
        .await;
    assert_eq!(listed.assert_status(200)["items"], json!([]));
    // An app's grants are not sessions of the member's.
    let _ = app.app_token(&ana, "read").await;
    let sessions = app
        .get("/api/v1/me/sessions", Some(&ana.access_token))
        .await;
    assert_eq!(
        sessions.assert_status(200)["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    // Deleting an app ends every grant of it.
    let token = app.app_token(&bob, "read").await;
    let owned = app.get("/api/v1/me/apps", Some(&bob.access_token)).await;
    let client_id = owned.assert_status(200)["items"][0]["client_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.delete(&format!("/api/v1/me/apps/{client_id}"), &ana.access_token)
        .await
        .assert_problem(404, "not_found");
    app.delete(&format!("/api/v1/me/apps/{client_id}"), &bob.access_token)
        .await
        .assert_status(204);
    app.get("/api/v1/me", Some(&token))
        .await
        .assert_problem(401, "invalid_token");
}

#[actix_web::test]
async fn apps_are_registered_with_checked_redirects_and_are_their_owners() {
    let app = TestApp::spawn().await;
    let dev = app.member("dev").await;
    let eve = app.member("eve").await;
    app.post("/api/v1/me/apps", None, &json!({}))
        .await
        .assert_problem(401, "missing_token");
    for (uri, pointer) in [
        ("http://scrobbler.example/cb", "/redirect_uris/0"),
        ("https://scrobbler.example/cb#x", "/redirect_uris/0"),
        ("javascript:alert(1)", "/redirect_uris/0"),
        ("myapp:/cb", "/redirect_uris/0"),
    ] {
        let res = app
            .post(
                "/api/v1/me/apps",
                Some(&dev.access_token),
                &json!({"name": "X", "redirect_uris": [uri], "confidential": false}),
            )
            .await;
        assert_eq!(
            res.assert_problem(422, "validation_failed")["errors"][0]["pointer"],
            pointer,
            "{uri}"
        );
    }
    let res = app
        .post(
            "/api/v1/me/apps",
            Some(&dev.access_token),
            &json!({"name": "", "redirect_uris": [], "confidential": false}),
        )
        .await;
    let errors = res.assert_problem(422, "validation_failed")["errors"].clone();
    assert_eq!(errors[0]["pointer"], "/name", "{errors}");
    assert_eq!(errors[1]["pointer"], "/redirect_uris", "{errors}");
    app.post(
        "/api/v1/me/apps",
        Some(&dev.access_token),
        &json!({"name": "X", "redirect_uris": ["https://a.example/cb"], "confidential": false, "admin": true}),
    )
    .await
    .assert_status(422);
    let created = app
        .post(
            "/api/v1/me/apps",
            Some(&dev.access_token),
            &json!({"name": "TV app", "redirect_uris": ["com.example.tv:/oauth", "http://[::1]/cb"], "confidential": false}),
        )
        .await;
    let body = created.assert_status(201).clone();
    assert!(
        body.get("client_secret").is_none(),
        "a public app has no secret"
    );
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let client_id = body["client_id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        created.header("location"),
        Some(format!("/api/v1/me/apps/{client_id}").as_str())
    );
    let path = format!("/api/v1/me/apps/{client_id}");
    // Someone else's app is not there for them.
    app.get(&path, Some(&eve.access_token))
        .await
        .assert_problem(404, "not_found");
    app.send(
        reqwest::Method::PATCH,
        &path,
        Some(&eve.access_token),
        Some(&json!({"name": "Mine"})),
    )
    .await
    .assert_problem(404, "not_found");
    app.post(
        &format!("{path}/secret"),
        Some(&eve.access_token),
        &json!({}),
    )
    .await
    .assert_problem(404, "not_found");
    // A public app has no secret to rotate.
    app.post(
        &format!("{path}/secret"),
        Some(&dev.access_token),
        &json!({}),
    )
    .await
    .assert_problem(409, "public_app");
    let changed = app
        .send(
            reqwest::Method::PATCH,
            &path,
            Some(&dev.access_token),
            Some(&json!({"name": "TV app 2", "homepage": "https://tv.example"})),
        )
        .await;
    assert_eq!(changed.assert_status(200)["name"], "TV app 2");
    assert_eq!(
        changed.json["redirect_uris"],
        json!(["com.example.tv:/oauth", "http://[::1]/cb"])
    );
    assert_eq!(changed.json["homepage"], "https://tv.example");
    // `null` clears a field; what is not sent stays.
    let cleared = app
        .send(
            reqwest::Method::PATCH,
            &path,
            Some(&dev.access_token),
            Some(&json!({"homepage": null})),
        )
        .await;
    assert_eq!(cleared.assert_status(200)["homepage"], Value::Null);
    assert_eq!(cleared.json["name"], "TV app 2");
    let res = app
        .send(
            reqwest::Method::PATCH,
            &path,
            Some(&dev.access_token),
            Some(&json!({"redirect_uris": ["ftp://x"]})),
        )
        .await;
    assert_eq!(
        res.assert_problem(422, "validation_failed")["errors"][0]["pointer"],
        "/redirect_uris/0"
    );
    let listed = app.get("/api/v1/me/apps", Some(&dev.access_token)).await;
    assert_eq!(
        listed.assert_status(200)["items"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(listed.json["items"][0]["tokens"], 0);
    // At most 25 apps.
    for i in 1..25 {
        app.post(
            "/api/v1/me/apps",
            Some(&dev.access_token),
            &json!({"name": format!("App {i}"), "redirect_uris": ["https://a.example/cb"], "confidential": true}),
        )
        .await
        .assert_status(201);
    }
    app.post(
        "/api/v1/me/apps",
        Some(&dev.access_token),
        &json!({"name": "One too many", "redirect_uris": ["https://a.example/cb"], "confidential": true}),
    )
    .await
    .assert_problem(409, "app_limit");
}

#[actix_web::test]
async fn the_server_publishes_its_metadata() {
    let app = TestApp::spawn().await;
    let res = app
        .get("/.well-known/oauth-authorization-server", None)
        .await;
    let body = res.assert_status(200);
    let base = app.url("").trim_end_matches('/').to_owned();
    assert_eq!(body["issuer"], base.as_str());
    assert_eq!(body["token_endpoint"], format!("{base}/oauth/token"));
    assert_eq!(body["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(body["scopes_supported"], json!(SCOPES));
    assert!(
        body["grant_types_supported"]
            .as_array()
            .is_some_and(|g| g.contains(&json!("urn:ietf:params:oauth:grant-type:device_code")))
    );
}

/// An app spends its own rate budget, not its member's: a member whose app used up its reads
/// still reads from their own client.
#[actix_web::test]
async fn each_app_has_its_own_rate_budget() {
    let app = TestApp::spawn_with(|c| {
        c.rate.budgets.read_per_member =
            filmlog_api::ratelimit::Quota::new(5, Duration::from_secs(60));
    })
    .await;
    let ana = app.member("ana").await;
    let token = app.app_token(&ana, "read").await;
    for _ in 0..5 {
        app.get("/api/v1/me", Some(&token)).await.assert_status(200);
    }
    app.get("/api/v1/me", Some(&token))
        .await
        .assert_problem(429, "rate_limited");
    app.get("/api/v1/me", Some(&ana.access_token))
        .await
        .assert_status(200);
    let other = app.app_token(&ana, "read").await;
    app.get("/api/v1/me", Some(&other)).await.assert_status(200);
}

/// Every operation that takes a token refuses an app's token without its scope (403
/// `insufficient_scope`, the scope named in `WWW-Authenticate`) and accepts one with it; the
/// operations no app may call refuse every app and accept first-party sign-in. Generated from the
/// route table, so a new operation is checked as soon as it is documented.
#[actix_web::test]
async fn every_operation_needs_its_scope_from_an_app() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let mut only = std::collections::HashMap::new();
    let mut all_but = std::collections::HashMap::new();
    for scope in SCOPES {
        only.insert(scope, app.app_token(&ana, scope).await);
        let rest: Vec<&str> = SCOPES.iter().copied().filter(|s| *s != scope).collect();
        all_but.insert(scope, app.app_token(&ana, &rest.join(" ")).await);
    }
    let everything = app.app_token(&ana, &SCOPES.join(" ")).await;
    let spec = serde_json::to_value(filmlog_api::openapi()).unwrap_or_default();
    let mut scoped = 0;
    let mut first_party = 0;
    for (path, item) in spec["paths"].as_object().into_iter().flatten() {
        for (verb, op) in item.as_object().into_iter().flatten() {
            let requirements = op["security"].as_array().cloned().unwrap_or_default();
            if !requirements.iter().any(|r| r.get("bearer").is_some()) {
                continue;
            }
            let scope = requirements
                .iter()
                .find_map(|r| r.get("oauth2")?.get(0)?.as_str().map(str::to_owned));
            let concrete = crate::visibility::nothing_at(path);
            let method = reqwest::Method::from_bytes(verb.to_ascii_uppercase().as_bytes())
                .unwrap_or(reqwest::Method::GET);
            let body = json!({});
            let body = matches!(verb.as_str(), "post" | "put" | "patch").then_some(&body);
            let name = format!("{method} {path}");
            let stream = op["responses"]["200"]["content"]
                .get("text/event-stream")
                .is_some();
            let refused = |res: &filmlog_test_support::TestResponse, scope: Option<&str>| {
                assert_eq!(
                    (res.status, res.json["code"].as_str()),
                    (403, Some("insufficient_scope")),
                    "{name} without its scope: {}",
                    res.text
                );
                let challenge = res.header("www-authenticate").unwrap_or_default();
                assert!(
                    challenge.contains("error=\"insufficient_scope\""),
                    "{name}: {challenge}"
                );
                if let Some(scope) = scope {
                    assert!(
                        challenge.contains(&format!("scope=\"{scope}\"")),
                        "{name}: {challenge}"
                    );
                }
            };
            let accepted = |res: &filmlog_test_support::TestResponse, who: &str| {
                assert!(
                    res.status != 401 && res.json["code"] != "insufficient_scope",
                    "{name} with {who}: {} {}",
                    res.status,
                    res.text
                );
            };
            match scope {
                Some(scope) => {
                    let s = scope.as_str();
                    let res = app
                        .send(
                            method.clone(),
                            &concrete,
                            all_but.get(s).map(String::as_str),
                            body,
                        )
                        .await;
                    refused(&res, Some(s));
                    // (A stream that starts never ends: tests/http/events.rs reads it with a token.)
                    if !stream {
                        let res = app
                            .send(
                                method.clone(),
                                &concrete,
                                only.get(s).map(String::as_str),
                                body,
                            )
                            .await;
                        accepted(&res, &format!("the {s} scope"));
                    }
                    scoped += 1;
                }
                None => {
                    let res = app
                        .send(method.clone(), &concrete, Some(&everything), body)
                        .await;
                    refused(&res, None);
                    // First-party sign-in may: a member of its own, since some of these end sessions.
                    let owner = app.member(&format!("fp{first_party}")).await;
                    let res = app
                        .send(method.clone(), &concrete, Some(&owner.access_token), body)
                        .await;
                    accepted(&res, "first-party sign-in");
                    first_party += 1;
                }
            }
        }
    }
    // 123 operations take a token (99 need one, 24 reads take one): 90 an app may call with its
    // scope, 33 only first-party sign-in may.
    assert_eq!((scoped, first_party), (90, 33));
}

/// Two exchanges of one code at once: one gets tokens, the other sees a used code, and the grant
/// the code gave ends (it may have been stolen). Two polls of one allowed device code at once: one
/// gets tokens.
#[actix_web::test]
async fn concurrent_exchanges_give_one_grant_at_most() {
    let app = TestApp::spawn().await;
    let dev = app.member("dev").await;
    let ana = app.member("ana").await;
    let redirect = "https://scrobbler.example/callback";
    let (client_id, _) = register(&app, &dev, redirect, false).await;
    let client = client(&app, &client_id, None, redirect);
    let http_client = no_redirects();
    let http = |req| send(http_client.clone(), req);

    let (code, verifier) = consented_code(&app, &client, &ana, &["read"]).await;
    let secret = verifier.secret().clone();
    let exchange = || {
        client
            .exchange_code(AuthorizationCode::new(code.clone()))
            .set_pkce_verifier(PkceCodeVerifier::new(secret.clone()))
            .request_async(&http)
    };
    let (a, b) = tokio::join!(exchange(), exchange());
    assert_eq!(a.is_ok() as u8 + b.is_ok() as u8, 1, "{a:?} {b:?}");
    let (granted, refused) = match (a, b) {
        (Ok(t), refused) | (refused, Ok(t)) => (t, refused),
        (a, b) => panic!("no exchange worked: {a:?} {b:?}"),
    };
    assert_eq!(server_error(refused), BasicErrorResponseType::InvalidGrant);
    app.get("/api/v1/me", Some(granted.access_token().secret()))
        .await
        .assert_problem(401, "invalid_token");

    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("read".to_owned()))
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("device code: {e:?}"));
    let done = Visitor::new(&app)
        .answer_device(details.user_code().secret(), &ana, "allow")
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    let poll = || {
        client.exchange_device_access_token(&details).request_async(
            &http,
            tokio::time::sleep,
            Some(Duration::from_secs(1)),
        )
    };
    let (a, b) = tokio::join!(poll(), poll());
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{a:?} {b:?}"
    );
}

/// A member's "no" to an app reaches what is still on its way: revoking it (or signing out
/// everywhere) voids the codes and allowed devices not yet turned into tokens. A refresh may narrow
/// the scope of its access token. A request that named no redirect URI exchanges without one.
#[actix_web::test]
async fn consents_not_yet_collected_die_with_the_app_and_scopes_narrow() {
    let app = TestApp::spawn().await;
    let dev = app.member("dev").await;
    let ana = app.member("ana").await;
    let slug = app.film("Close-Up", 1990).await;
    let redirect = "https://scrobbler.example/callback";
    let (client_id, _) = register(&app, &dev, redirect, false).await;
    let client = client(&app, &client_id, None, redirect);
    let http_client = no_redirects();
    let http = |req| send(http_client.clone(), req);

    // A code and an allowed device, then the member revokes the app.
    let (code, verifier) = consented_code(&app, &client, &ana, &["read"]).await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("exchange: {e:?}"));
    let (code, verifier) = consented_code(&app, &client, &ana, &["read"]).await;
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("read".to_owned()))
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("device code: {e:?}"));
    let done = Visitor::new(&app)
        .answer_device(details.user_code().secret(), &ana, "allow")
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    app.delete(
        &format!("/api/v1/me/authorized-apps/{client_id}"),
        &ana.access_token,
    )
    .await
    .assert_status(204);
    app.get("/api/v1/me", Some(tokens.access_token().secret()))
        .await
        .assert_problem(401, "invalid_token");
    let late = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await;
    assert_eq!(server_error(late), BasicErrorResponseType::InvalidGrant);
    let late = client
        .exchange_device_access_token(&details)
        .request_async(&http, tokio::time::sleep, Some(Duration::from_secs(1)))
        .await;
    assert!(
        matches!(&late, Err(RequestTokenError::ServerResponse(e)) if e.error().as_ref() == "access_denied"),
        "{late:?}"
    );

    // Logging out everywhere voids an outstanding code too.
    let (code, verifier) = consented_code(&app, &client, &ana, &["read"]).await;
    app.send(
        reqwest::Method::DELETE,
        "/api/v1/me/sessions",
        Some(&ana.access_token),
        None,
    )
    .await
    .assert_status(204);
    let late = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await;
    assert_eq!(server_error(late), BasicErrorResponseType::InvalidGrant);

    // A refresh narrows its access token's scope; the grant keeps its own.
    let (code, verifier) = consented_code(&app, &client, &ana, &["read", "diary"]).await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("exchange: {e:?}"));
    let refresh = tokens
        .refresh_token()
        .cloned()
        .unwrap_or_else(|| RefreshToken::new(String::new()));
    let narrow = client
        .exchange_refresh_token(&refresh)
        .add_scope(Scope::new("read".to_owned()))
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("refresh: {e:?}"));
    let scopes: Vec<String> = narrow
        .scopes()
        .map(|s| s.iter().map(|s| s.to_string()).collect())
        .unwrap_or_default();
    assert_eq!(scopes, ["read"]);
    let rating = format!("/api/v1/films/{slug}/rating");
    app.send(
        reqwest::Method::PUT,
        &rating,
        Some(narrow.access_token().secret()),
        Some(&json!({"rating": 4.0})),
    )
    .await
    .assert_problem(403, "insufficient_scope");
    let next = narrow
        .refresh_token()
        .cloned()
        .unwrap_or_else(|| RefreshToken::new(String::new()));
    let full = client
        .exchange_refresh_token(&next)
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("refresh: {e:?}"));
    app.send(
        reqwest::Method::PUT,
        &rating,
        Some(full.access_token().secret()),
        Some(&json!({"rating": 4.0})),
    )
    .await
    .assert_status(204);

    // An app with one redirect URI may leave it out of both requests.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let url = format!(
        "/oauth/authorize?{}",
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("response_type", "code"),
                ("client_id", client_id.as_str()),
                ("scope", "read"),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ])
            .finish()
    );
    let mut visitor = Visitor::new(&app);
    let consent = visitor.sign_in(&url, &ana).await;
    let back = visitor.decide(&consent, true).await;
    let location = back.location.unwrap_or_default();
    assert!(location.starts_with(redirect), "{location}");
    let code = query_param(&location, "code").unwrap_or_default();
    let exchanged = http_client
        .post(app.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("grant_type", "authorization_code"),
                    ("client_id", client_id.as_str()),
                    ("code", code.as_str()),
                    ("code_verifier", verifier.secret().as_str()),
                ])
                .finish(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(exchanged.status(), 200);

    // A stranger cannot fill the table with device sign-ins: at most 50 wait per app and network.
    sql(
        &app,
        "INSERT INTO oauth_device_codes (device_hash, user_code, app_id, scopes, expires_at, poll_interval, network) \
         SELECT sha256(i::text::bytea), lpad(i::text, 8, '0'), a.id, 1, now() + interval '10 minutes', 5, '127.0.0.0/24' \
         FROM generate_series(1, 50) i, oauth_apps a",
    )
    .await;
    let refused: Result<StandardDeviceAuthorizationResponse, _> = client
        .exchange_device_code()
        .add_scope(Scope::new("read".to_owned()))
        .request_async(&http)
        .await;
    assert_eq!(
        server_error(refused),
        BasicErrorResponseType::InvalidRequest
    );
}

/// Revoking an app that holds no grant yet still voids what the member allowed: a device allowed by
/// mistake is told `access_denied` when it polls.
#[actix_web::test]
async fn revoking_an_app_before_it_collects_denies_the_device() {
    let app = TestApp::spawn().await;
    let dev = app.member("dev").await;
    let ana = app.member("ana").await;
    let (client_id, _) = register(&app, &dev, "http://127.0.0.1/callback", false).await;
    let client = client(&app, &client_id, None, "http://127.0.0.1/callback");
    let http_client = no_redirects();
    let http = |req| send(http_client.clone(), req);
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("read".to_owned()))
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("device code: {e:?}"));
    let done = Visitor::new(&app)
        .answer_device(details.user_code().secret(), &ana, "allow")
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    let listed = app
        .get("/api/v1/me/authorized-apps", Some(&ana.access_token))
        .await;
    assert_eq!(listed.assert_status(200)["items"], json!([]));
    app.delete(
        &format!("/api/v1/me/authorized-apps/{client_id}"),
        &ana.access_token,
    )
    .await
    .assert_status(204);
    let late = client
        .exchange_device_access_token(&details)
        .request_async(&http, tokio::time::sleep, Some(Duration::from_secs(1)))
        .await;
    assert!(
        matches!(&late, Err(RequestTokenError::ServerResponse(e)) if e.error().as_ref() == "access_denied"),
        "{late:?}"
    );
    // Nothing left to revoke: 404.
    app.delete(
        &format!("/api/v1/me/authorized-apps/{client_id}"),
        &ana.access_token,
    )
    .await
    .assert_problem(404, "not_found");
}

/// A device collecting its tokens while its member signs out everywhere: whichever comes first,
/// neither fails (the two take the member's row, then the device's, in one order: no deadlock), and
/// no grant outlives the sign-out.
#[actix_web::test]
async fn collecting_while_the_member_signs_out_everywhere_never_fails() {
    let app = TestApp::spawn().await;
    let dev = app.member("dev").await;
    let ana = app.member("ana").await;
    let (client_id, _) = register(&app, &dev, "http://127.0.0.1/callback", false).await;
    let client = client(&app, &client_id, None, "http://127.0.0.1/callback");
    let http_client = no_redirects();
    let http = |req| send(http_client.clone(), req);
    for _ in 0..8 {
        let details: StandardDeviceAuthorizationResponse = client
            .exchange_device_code()
            .add_scope(Scope::new("read".to_owned()))
            .request_async(&http)
            .await
            .unwrap_or_else(|e| panic!("device code: {e:?}"));
        let done = Visitor::new(&app)
            .answer_device(details.user_code().secret(), &ana, "allow")
            .await;
        assert_eq!(done.status, 200, "{}", done.text);
        let collect = client.exchange_device_access_token(&details).request_async(
            &http,
            tokio::time::sleep,
            Some(Duration::from_secs(1)),
        );
        let sign_out = app.send(
            reqwest::Method::DELETE,
            "/api/v1/me/sessions",
            Some(&ana.access_token),
            None,
        );
        let (collected, signed_out) = tokio::join!(collect, sign_out);
        signed_out.assert_status(204);
        match collected {
            // Collected first: the sign-out ended the grant.
            Ok(tokens) => {
                app.get("/api/v1/me", Some(tokens.access_token().secret()))
                    .await
                    .assert_problem(401, "invalid_token");
            }
            // Signed out first: the allowed device was denied after all.
            Err(RequestTokenError::ServerResponse(e)) => {
                assert_eq!(e.error().as_ref(), "access_denied", "{e:?}");
            }
            Err(other) => panic!("{other:?}"),
        }
    }
}
