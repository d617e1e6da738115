//! The HTTP side of authentication: the `AuthMember`, `Caller` and `Viewing` extractors, which check
//! a bearer token with [`filmlog_app::credentials`] and its session against the database.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use filmlog_app::ErrorCode;
use filmlog_domain::{Member, MemberId, SessionId, Viewer};
use filmlog_persistence::sessions;

use filmlog_app::credentials::{Grant, TokenService};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The authenticated member, taken from `Authorization: Bearer <access token>`. The session the token
/// names must still be live, so logout, a password change or account deletion end the token at once.
#[derive(Debug, Clone)]
pub struct AuthMember {
    pub member: Member,
    pub session: SessionId,
    /// A third-party app's token: its app and scopes.
    pub grant: Option<Grant>,
}

impl AuthMember {
    pub fn id(&self) -> MemberId {
        self.member.id
    }

    /// `Ok` for an admin; otherwise 403 `admin_only`, saying what only admins may do.
    pub fn require_admin(&self, what: &'static str) -> Result<(), ApiError> {
        if self.member.role == filmlog_domain::Role::Admin {
            Ok(())
        } else {
            Err(ApiError::forbidden(ErrorCode::AdminOnly, what))
        }
    }
}

fn bearer(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| {
        ApiError::unauthorized(
            ErrorCode::InvalidToken,
            "the Authorization header is not readable",
        )
    })?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(ApiError::unauthorized(
            ErrorCode::InvalidToken,
            "use Authorization: Bearer <access token>",
        )),
    }
}

/// The claims of a request's access token, decoded once per request: the rate limiter decodes it
/// first and leaves it in the request's extensions for the extractors.
#[derive(Debug, Clone, Copy)]
pub struct DecodedToken {
    pub member: MemberId,
    pub session: SessionId,
    /// A third-party app's token: the app and the scopes granted.
    pub grant: Option<Grant>,
}

/// Whether the request's token is a third-party app's (decoded already by the rate limiter, or here).
pub fn is_app(req: &HttpRequest, tokens: &TokenService) -> bool {
    decoded_token(req, tokens)
        .ok()
        .flatten()
        .is_some_and(|t| t.grant.is_some())
}

/// The request's bearer token, decoded (signature, expiry, claims; not yet the session), or `None`
/// without an `Authorization` header.
pub fn decoded_token(
    req: &HttpRequest,
    tokens: &TokenService,
) -> Result<Option<DecodedToken>, ApiError> {
    if let Some(decoded) = req.extensions().get::<DecodedToken>() {
        return Ok(Some(*decoded));
    }
    let Some(token) = bearer(req)? else {
        return Ok(None);
    };
    let access = tokens.decode_access(&token)?;
    let decoded = DecodedToken {
        member: access.member,
        session: access.session,
        grant: access.grant,
    };
    req.extensions_mut().insert(decoded);
    Ok(Some(decoded))
}

async fn authenticate(state: web::Data<AppState>, token: DecodedToken) -> ApiResult<AuthMember> {
    let DecodedToken {
        member: member_id,
        session,
        grant,
    } = token;
    let mut conn = state.conn().await?;
    let member = sessions::authenticated_member(&mut conn, member_id, session)
        .await?
        .ok_or_else(session_ended)?;
    Ok(AuthMember {
        member,
        session,
        grant,
    })
}

fn session_ended() -> ApiError {
    ApiError::unauthorized(
        ErrorCode::InvalidToken,
        "the session has ended; log in again",
    )
}

/// The caller's live session, checked without loading the member (see [`Caller`]). A read checks
/// it on the read connection it then keeps for the handler ([`crate::held`]); a write on the
/// primary.
async fn live_caller(
    state: web::Data<AppState>,
    token: DecodedToken,
    read: bool,
) -> ApiResult<Caller> {
    let conn = if read {
        state.read_conn().await?
    } else {
        state.conn().await?
    };
    let live = sessions::is_live(&conn, token.member, token.session).await?;
    if read {
        crate::held::keep(conn);
    }
    if live {
        Ok(Caller {
            member: token.member,
            session: token.session,
            grant: token.grant,
        })
    } else {
        Err(session_ended())
    }
}

fn missing_token() -> ApiError {
    ApiError::unauthorized(
        ErrorCode::MissingToken,
        "this endpoint needs Authorization: Bearer <access token>",
    )
}

/// Settles when the request's session check is done (see [`after_auth`]), with whether the
/// session turned out to have ended where no extractor says so itself (a pipelined check).
#[derive(Clone)]
struct AuthSettled(futures_util::future::Shared<LocalBoxFuture<'static, bool>>);

/// Marks the request as having a session check in flight; the check holds the returned sender and
/// drops it when it is done (answered or abandoned), answering 401 itself.
fn settling(req: &HttpRequest) -> tokio::sync::oneshot::Sender<()> {
    let (done, settled) = tokio::sync::oneshot::channel::<()>();
    let settled: LocalBoxFuture<'static, bool> = Box::pin(async move {
        let _ = settled.await;
        false
    });
    req.extensions_mut()
        .insert(AuthSettled(futures_util::FutureExt::shared(settled)));
    done
}

/// For the pipelined extractors, whose check runs with the handler's reads: should another
/// extractor refuse the request first, the session is checked then (only then), so that an ended
/// one is still answered 401.
fn check_on_refusal(req: &HttpRequest, token: DecodedToken, state: web::Data<AppState>) {
    let dead: LocalBoxFuture<'static, bool> = Box::pin(async move {
        match state.read_conn().await {
            Ok(conn) => !sessions::is_live(&conn, token.member, token.session)
                .await
                .unwrap_or(true),
            Err(_) => false,
        }
    });
    req.extensions_mut()
        .insert(AuthSettled(futures_util::FutureExt::shared(dead)));
}

/// An extractor's `result`, answered only once the request's session check is done when it is an
/// error. actix polls a handler's extractors together, so without this a caller whose session
/// ended would be told its body or path is invalid (by an extractor that answers at once) instead
/// of 401, which an anonymous caller gets first. Extractors after an authenticating one call it.
pub fn after_auth<T: 'static>(req: &HttpRequest, result: Result<T, ApiError>) -> AfterAuth<T> {
    use futures_util::future::{Either, ready};
    let settled = match &result {
        Err(_) => req.extensions().get::<AuthSettled>().cloned(),
        Ok(_) => None,
    };
    match settled {
        // Nothing to wait for (the common case): answered at once, nothing boxed.
        None => Either::Left(ready(result)),
        Some(AuthSettled(settled)) => Either::Right(Box::pin(async move {
            if settled.await {
                return Err(session_ended());
            }
            result
        })),
    }
}

/// What [`after_auth`] answers.
pub type AfterAuth<T> = futures_util::future::Either<
    futures_util::future::Ready<Result<T, ApiError>>,
    LocalBoxFuture<'static, Result<T, ApiError>>,
>;

/// [`settling`] for a request that sent a token (without one the check answers at once, before
/// any extractor after it is polled).
fn settling_if(
    req: &HttpRequest,
    parsed: &ApiResult<(Option<DecodedToken>, web::Data<AppState>)>,
) -> Option<tokio::sync::oneshot::Sender<()>> {
    matches!(parsed, Ok((Some(_), _))).then(|| settling(req))
}

/// What every authenticating extractor starts from: the request's decoded token (if it sent one)
/// and the state to check its session with. An app's token must carry the scope the operation the
/// router matched requires ([`crate::scopes`]); first-party tokens may do everything.
fn request_token(req: &HttpRequest) -> ApiResult<(Option<DecodedToken>, web::Data<AppState>)> {
    let state = app_state(req)?;
    let token = decoded_token(req, &state.tokens)?;
    if let Some(grant) = token.and_then(|t| t.grant) {
        crate::scopes::check(req, grant.scopes)?;
    }
    Ok((token, state))
}

fn app_state(req: &HttpRequest) -> ApiResult<web::Data<AppState>> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("AppState is not registered"))
}

impl FromRequest for AuthMember {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = request_token(req);
        let done = settling_if(req, &parsed);
        Box::pin(async move {
            let _done = done;
            match parsed? {
                (Some(token), state) => authenticate(state, token).await,
                (None, _) => Err(missing_token()),
            }
        })
    }
}

/// An authenticated member known by id: the same checks as [`AuthMember`] (a valid token naming a
/// live session of that member), without loading the member's row. For every endpoint that needs
/// only who is calling.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    member: MemberId,
    pub session: SessionId,
    /// A third-party app's token: its app and scopes.
    pub grant: Option<Grant>,
}

impl Caller {
    pub fn id(&self) -> MemberId {
        self.member
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = request_token(req);
        let read = req.method() == actix_web::http::Method::GET;
        let done = settling_if(req, &parsed);
        Box::pin(async move {
            let _done = done;
            match parsed? {
                (Some(token), state) => live_caller(state, token, read).await,
                (None, _) => Err(missing_token()),
            }
        })
    }
}

/// An authenticated caller whose session is checked in the same round trip as the handler's read:
/// [`PipelinedCaller::read`] sends the session check and the read together on one connection and
/// answers 401 (dropping the read's rows) when the session is not live. The member's id is only
/// reachable through it, so no read can skip the check. For the hottest reads (the feed).
#[derive(Debug, Clone, Copy)]
pub struct PipelinedCaller {
    token: DecodedToken,
}

impl PipelinedCaller {
    pub async fn read<'c, T, F>(
        self,
        conn: &'c filmlog_persistence::AsyncPgConnection,
        read: impl FnOnce(MemberId) -> F,
    ) -> ApiResult<T>
    where
        F: Future<Output = filmlog_persistence::Result<T>> + 'c,
    {
        let check = sessions::is_live(conn, self.token.member, self.token.session);
        let (live, rows) = futures_util::future::join(check, read(self.token.member)).await;
        // A dead session answers 401 whatever the read did.
        if !live? {
            return Err(session_ended());
        }
        Ok(rows?)
    }
}

impl FromRequest for PipelinedCaller {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(match request_token(req) {
            Ok((Some(token), state)) => {
                check_on_refusal(req, token, state);
                Ok(PipelinedCaller { token })
            }
            Ok((None, _)) => Err(missing_token()),
            Err(e) => Err(e),
        })
    }
}

/// [`Viewing`] whose session check travels with the handler's first reads, in one round trip:
/// [`PipelinedViewing::read`] runs them as the token's member and answers 401 (dropping their rows)
/// when the session is not live. The reads are given the viewer while the check is in flight, and
/// nothing they return leaves before it is done; a refusal they answer (a bad query, a missing
/// film) also waits for it, so an ended session is told 401 first. For hot reads open to everyone
/// (a list's pages; a film's page and its reviews check the session inside their own statement,
/// [`PipelinedViewing::read_probed`]).
#[derive(Debug, Clone, Copy)]
pub struct PipelinedViewing {
    token: Option<DecodedToken>,
}

impl PipelinedViewing {
    pub async fn read<'c, T, F>(
        self,
        conn: &'c filmlog_persistence::AsyncPgConnection,
        read: impl FnOnce(Viewer) -> F,
    ) -> ApiResult<(Viewer, T)>
    where
        F: Future<Output = ApiResult<T>> + 'c,
    {
        let Some(token) = self.token else {
            return Ok((Viewer::Anonymous, read(Viewer::Anonymous).await?));
        };
        let viewer = Viewer::Member(token.member);
        let check = sessions::is_live(conn, token.member, token.session);
        let (live, rows) = futures_util::future::join(check, read(viewer)).await;
        // A dead session answers 401 whatever the reads did.
        if !live? {
            return Err(session_ended());
        }
        Ok((viewer, rows?))
    }

    /// [`PipelinedViewing::read`] for a read that checks the session in its own statement (a
    /// [`sessions::Probe`], none for an anonymous reader): `read` answers whether the session is
    /// live when its statement could tell (a row came back), and only when it could not is the
    /// session checked on its own.
    pub async fn read_probed<'c, T, F>(
        self,
        conn: &'c filmlog_persistence::AsyncPgConnection,
        read: impl FnOnce(Viewer, Option<sessions::Probe>) -> F,
    ) -> ApiResult<(Viewer, T)>
    where
        F: Future<Output = ApiResult<(T, Option<bool>)>> + 'c,
    {
        let Some(token) = self.token else {
            let (rows, _) = read(Viewer::Anonymous, None).await?;
            return Ok((Viewer::Anonymous, rows));
        };
        let viewer = Viewer::Member(token.member);
        let probe = sessions::Probe::of(token.member, token.session);
        let answered = read(viewer, Some(probe)).await;
        let live = match &answered {
            Ok((_, Some(live))) => *live,
            // No row to tell (a refusal, a missing film): the session on its own, 401 first.
            _ => sessions::is_live(conn, token.member, token.session).await?,
        };
        if !live {
            return Err(session_ended());
        }
        Ok((viewer, answered?.0))
    }
}

impl FromRequest for PipelinedViewing {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(request_token(req).map(|(token, state)| {
            if let Some(token) = token {
                check_on_refusal(req, token, state);
            }
            PipelinedViewing { token }
        }))
    }
}

/// The reader of a request, for every read: no header → [`Viewer::Anonymous`]; a live token → that
/// member; a header with a bad or ended token → 401 (a client should know its token is bad, and a
/// read never silently answers as someone else).
#[derive(Debug, Clone, Copy)]
pub struct Viewing(pub Viewer);

impl FromRequest for Viewing {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = request_token(req);
        let done = settling_if(req, &parsed);
        Box::pin(async move {
            let _done = done;
            match parsed? {
                (Some(token), state) => Ok(Viewing(Viewer::Member(
                    live_caller(state, token, true).await?.id(),
                ))),
                (None, _) => Ok(Viewing(Viewer::Anonymous)),
            }
        })
    }
}
