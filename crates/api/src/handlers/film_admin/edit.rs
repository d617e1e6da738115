//! Adding films (admins), and the field checks a correction shares.

use actix_web::{HttpResponse, post, web};
use chrono::NaiveDate;
use filmlog_domain::CreditRole;
use filmlog_domain::film::{MAX_CREDIT_CHARS, MAX_CREDITS, MAX_SYNOPSIS_CHARS};
use filmlog_domain::{Slug, Title, Viewer, label, plausible_release, valid_year};
use filmlog_persistence::catalog::{NewCredit, NewFilm};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::AuthMember;
use crate::error::{
    AdminOnly, ApiError, ApiResult, FieldError, MalformedJsonOrKey, NotJson, ServiceUnavailable,
    Unauthenticated,
};
use crate::extract::JsonBody;
use crate::handlers::films::Film;
use crate::middleware::idempotency::{IdempotencyKey, created, into_response};
use crate::state::AppState;
use filmlog_app::ops;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CastInput {
    pub name: String,
    pub character: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFilmRequest {
    #[schema(example = "Children of Heaven")]
    pub title: String,
    pub original_title: Option<String>,
    #[schema(example = 1997)]
    pub year: Option<i32>,
    pub release_date: Option<NaiveDate>,
    pub runtime_minutes: Option<i32>,
    pub synopsis: Option<String>,
    pub poster_url: Option<String>,
    #[serde(default)]
    pub genres: Vec<String>,
    #[serde(default)]
    pub countries: Vec<String>,
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default)]
    pub directors: Vec<String>,
    /// In billing order.
    #[serde(default)]
    pub cast: Vec<CastInput>,
    /// Defaults to the title and year, e.g. `children-of-heaven-1997`.
    pub slug: Option<String>,
}

/// Collects field errors while parsing a film's fields.
pub(crate) struct Fields(pub(crate) Vec<FieldError>);

impl Fields {
    pub(crate) fn text(
        &mut self,
        pointer: &str,
        raw: Option<String>,
        max: usize,
        multiline: bool,
    ) -> Option<String> {
        match raw
            .as_deref()
            .map(|r| filmlog_domain::text::clean(r, max, multiline))
        {
            None | Some(Ok(None)) => None,
            Some(Ok(Some(v))) => Some(v),
            Some(Err(e)) => {
                self.0.push(FieldError::new(pointer, "invalid_text", e));
                None
            }
        }
    }

    pub(crate) fn labels(&mut self, pointer: &str, raw: Vec<String>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (i, r) in raw.iter().enumerate() {
            match label(r) {
                Ok(l) if !out.contains(&l) => out.push(l),
                Ok(_) => {}
                Err(e) => self.0.push(FieldError::new(
                    format!("{pointer}/{i}"),
                    "invalid_label",
                    e,
                )),
            }
        }
        if out.len() > 20 {
            self.0
                .push(FieldError::new(pointer, "too_many", "at most 20 values"));
        }
        out
    }

    pub(crate) fn year(&mut self, year: Option<i32>) -> Option<i32> {
        if let Some(y) = year.filter(|y| !valid_year(*y)) {
            self.0.push(FieldError::new(
                "/year",
                "invalid_year",
                format!("year {y} must be between 1870 and 2100"),
            ));
        }
        year
    }

    pub(crate) fn release(&mut self, date: Option<NaiveDate>) -> Option<NaiveDate> {
        if let Some(d) = date.filter(|d| !plausible_release(*d, filmlog_domain::latest_today())) {
            self.0.push(FieldError::new(
                "/release_date",
                "invalid_release_date",
                format!("{d} is too far in the future or past"),
            ));
        }
        date
    }

    pub(crate) fn runtime(&mut self, runtime: Option<i32>) -> Option<i32> {
        if let Some(r) = runtime.filter(|r| !(1..=1500).contains(r)) {
            self.0.push(FieldError::new(
                "/runtime_minutes",
                "invalid_runtime",
                format!("{r} must be 1–1500 minutes"),
            ));
        }
        runtime
    }

    pub(crate) fn poster(&mut self, raw: Option<String>) -> Option<String> {
        match raw.as_deref().map(filmlog_domain::Website::parse) {
            None | Some(Ok(None)) => None,
            Some(Ok(Some(url))) => Some(url.into_inner()),
            Some(Err(e)) => {
                self.0
                    .push(FieldError::new("/poster_url", "invalid_url", e));
                None
            }
        }
    }

    pub(crate) fn finish(self) -> ApiResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.0))
        }
    }
}

/// Add a film (admins)
#[utoipa::path(
    operation_id = "create_film",
    tag = "films",
    request_body = CreateFilmRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body replay the original response; the same key with another body is 422 `idempotency_key_reused`")),
    responses(
        (status = 201, description = "Created; `Location` names it", body = Film),
        (status = 400, response = MalformedJsonOrKey),
        (status = 401, response = Unauthenticated),
        (status = 403, response = AdminOnly),
        (status = 409, response = crate::error::SlugTaken),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailed),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/films")]
pub async fn create_film(
    state: web::Data<AppState>,
    auth: AuthMember,
    key: IdempotencyKey,
    body: JsonBody<CreateFilmRequest>,
) -> ApiResult<HttpResponse> {
    auth.require_admin("only admins may change the catalog")?;
    let idempotency = key.for_body(body.digest());
    let req = body.0;
    let (new, credits) = new_film(req)?;
    let mut conn = state.conn().await?;
    let member = auth.id();
    let render = move |page| {
        let film = Film::seen_by(page, Viewer::Member(member));
        created(format!("/api/v1/films/{}", film.slug), &film)
    };
    let outcome =
        ops::catalog::add_once(&mut conn, &idempotency, member, &new, &credits, render).await?;
    Ok(into_response(outcome))
}

/// The film and credits a request describes, every field checked (all the broken ones reported
/// together).
fn new_film(req: CreateFilmRequest) -> ApiResult<(NewFilm, Vec<NewCredit>)> {
    let mut f = Fields(Vec::new());
    let title = Title::parse(&req.title)
        .map_err(|e| f.0.push(FieldError::new("/title", "invalid_title", e)))
        .ok();
    let year = f.year(req.year);
    let slug = match req.slug.as_deref() {
        Some(s) => Slug::parse(s)
            .map_err(|e| f.0.push(FieldError::new("/slug", "invalid_slug", e)))
            .ok(),
        None => title
            .as_ref()
            .and_then(|t| Slug::from_title(t.as_str(), year)),
    };
    if slug.is_none() && title.is_some() && req.slug.is_none() {
        f.0.push(FieldError::new(
            "/slug",
            "invalid_slug",
            "the title has no letters or digits to make a slug of; give a slug",
        ));
    }
    let new = NewFilm {
        slug: slug.map(Slug::into_inner).unwrap_or_default(),
        title: title.map(Title::into_inner).unwrap_or_default(),
        original_title: f.text("/original_title", req.original_title, Title::MAX, false),
        year,
        release_date: f.release(req.release_date),
        runtime_minutes: f.runtime(req.runtime_minutes),
        synopsis: f.text("/synopsis", req.synopsis, MAX_SYNOPSIS_CHARS, true),
        poster_url: f.poster(req.poster_url),
        genres: f.labels("/genres", req.genres),
        countries: f.labels("/countries", req.countries),
        languages: f.labels("/languages", req.languages),
    };
    let credits = credits_of(&mut f, req.directors, req.cast);
    if credits.len() > MAX_CREDITS {
        let message = format!("at most {MAX_CREDITS} credits");
        f.0.push(FieldError::new("/cast", "too_many", message));
    }
    f.finish()?;
    Ok((new, credits))
}

/// The credits of `directors` and `cast`, in their billing order.
fn credits_of(f: &mut Fields, directors: Vec<String>, cast: Vec<CastInput>) -> Vec<NewCredit> {
    let mut credits = Vec::new();
    for (i, name) in directors.into_iter().enumerate() {
        if let Some(name) = f.text(
            &format!("/directors/{i}"),
            Some(name),
            MAX_CREDIT_CHARS,
            false,
        ) {
            credits.push(NewCredit {
                name,
                role: CreditRole::Director,
                character: None,
                billing_order: i32::try_from(i).unwrap_or(0),
            });
        }
    }
    for (i, c) in cast.into_iter().enumerate() {
        let character = f.text(
            &format!("/cast/{i}/character"),
            c.character,
            MAX_CREDIT_CHARS,
            false,
        );
        if let Some(name) = f.text(
            &format!("/cast/{i}/name"),
            Some(c.name),
            MAX_CREDIT_CHARS,
            false,
        ) {
            credits.push(NewCredit {
                name,
                role: CreditRole::Cast,
                character,
                billing_order: i32::try_from(i).unwrap_or(0),
            });
        }
    }
    credits
}
