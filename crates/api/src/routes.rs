//! The API's paths: its prefix, the spec's path, and the routes the document knows, to tell 405
//! from 404 for a path no handler matched.

use actix_web::dev::ResourceDef;
use actix_web::http::header;
use actix_web::{HttpRequest, web};
use filmlog_app::ErrorCode;

use crate::error::ApiError;

/// Where the pages that links in mail open live (their posts spend the `auth` budget).
pub const PAGES_PREFIX: &str = "/account/";

pub const API_PREFIX: &str = "/api/v1";

/// The OAuth authorization server's endpoints and pages: every post spends the `auth` budget.
pub const OAUTH_PREFIX: &str = "/oauth/";

pub const SPEC_PATH: &str = "/api/v1/openapi.json";

/// The documented paths with their methods, to tell 405 from 404.
pub struct KnownRoutes(Vec<(ResourceDef, Vec<String>)>);

impl KnownRoutes {
    pub fn from_openapi(api: &utoipa::openapi::OpenApi) -> Self {
        let routes = api
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let operations = [
                    ("DELETE", &item.delete),
                    ("GET", &item.get),
                    ("HEAD", &item.head),
                    ("OPTIONS", &item.options),
                    ("PATCH", &item.patch),
                    ("POST", &item.post),
                    ("PUT", &item.put),
                    ("TRACE", &item.trace),
                ];
                let mut methods: Vec<String> = operations
                    .iter()
                    .filter(|(_, op)| op.is_some())
                    .map(|(m, _)| (*m).to_owned())
                    .collect();
                // HEAD wherever GET (crate::middleware::http_cache), OPTIONS everywhere (fallback).
                if item.get.is_some() && item.head.is_none() {
                    methods.push("HEAD".to_owned());
                }
                if item.options.is_none() {
                    methods.push("OPTIONS".to_owned());
                }
                methods.sort();
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        KnownRoutes(routes)
    }

    /// The methods a path allows, if it is a known path.
    pub fn allowed(&self, path: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(def, _)| def.is_match(path))
            .map(|(_, methods)| methods.join(", "))
    }
}

pub async fn fallback(
    req: HttpRequest,
    known: web::Data<KnownRoutes>,
) -> Result<actix_web::HttpResponse, ApiError> {
    Err(match known.allowed(req.path()) {
        Some(allow) if req.method() == actix_web::http::Method::OPTIONS => {
            return Ok(actix_web::HttpResponse::NoContent()
                .insert_header((header::ALLOW, allow))
                .finish());
        }
        Some(allow) => ApiError::method_not_allowed(allow),
        None => route_not_found(req.path()),
    })
}

/// 404 for a path no route serves.
pub fn route_not_found(path: &str) -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::NOT_FOUND,
        ErrorCode::RouteNotFound,
        "Not found",
        format!("no route matches {path}"),
    )
}
