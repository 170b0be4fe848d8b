//! (1.1, §2) Uploads and downloads of attachments.
//!
//! - `POST /v1/attachments`: the raw file as the body. Its size is checked against
//!   `--max-upload-mb` before a byte of it is read when `Content-Length` says it, and while it
//!   streams otherwise; either way a larger file is answered 413 without reading the rest.
//!   It goes to disk chunk by chunk ([`Blobs::incoming`](crate::blobs::Blobs::incoming)),
//!   hashed on the way; an upload that fails half-way leaves no file and no row. It may take
//!   longer than the request timeout as long as it keeps coming (see `server`).
//! - `GET /v1/attachments/{id}`: the file, to its uploader and to the members of the
//!   conversation that holds it (404 for anyone else), with one HTTP range at a time.
//! - `GET /v1/attachments/{id}/thumbnail`: a preview of an image, made once and cached.

pub(crate) mod names;
mod range;
mod thumbnail;

use std::io::SeekFrom;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt as _;
use rapport_protocol::{Attachment, ErrorBody, ErrorCode};
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};

use super::extract::{AttachmentId, Caller, PathId};
use crate::blobs::Incoming;
use crate::clock::new_id;
use crate::error::{ApiError, ApiResult};
use crate::store::NewUpload;
use crate::Hub;

use range::Ranged;

/// Bytes read from disk per chunk of a download.
const DOWNLOAD_CHUNK: usize = 64 * 1024;

fn too_large(hub: &Hub) -> ApiError {
    let mib = hub.config.max_upload_bytes / (1024 * 1024);
    ApiError::new(ErrorCode::TooLarge, format!("a file may be at most {mib} MiB"))
}

fn disk_error(err: std::io::Error) -> ApiError {
    tracing::error!(error = %err, "blob directory error");
    if err.kind() == std::io::ErrorKind::StorageFull {
        ApiError::new(ErrorCode::Unavailable, "the hub has no room for this file")
    } else {
        ApiError::new(ErrorCode::Internal, "internal error")
    }
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> ApiResult<Option<&'h str>> {
    headers
        .get(name)
        .map(|v| v.to_str().map_err(|_| ApiError::invalid(format!("{name} must be ASCII (percent-encode the rest)"))))
        .transpose()
}

/// Stores an uploaded file; 201 with its `Attachment`.
#[utoipa::path(post, path = "/v1/attachments", tag = "attachments", security(("bearer" = [])),
    params(("X-Filename" = String, Header, description = "the file's name, UTF-8, percent-encoded"),
        ("X-Sha256" = Option<String>, Header, description = "optional: the file's SHA-256 in hex; a mismatch stores nothing (400)")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the raw file, up to --max-upload-mb (25 MiB)"),
    responses((status = 201, body = Attachment), (status = 400, body = ErrorBody, description = "empty, no X-Filename, or a SHA-256 mismatch"),
        (status = 401, body = ErrorBody), (status = 413, body = ErrorBody, description = "too_large")))]
pub async fn upload(State(hub): State<Arc<Hub>>, caller: Caller, headers: HeaderMap, body: Body) -> ApiResult<(StatusCode, Json<Attachment>)> {
    let max = hub.config.max_upload_bytes;
    if let Some(length) = header_str(&headers, header::CONTENT_LENGTH.as_str())? {
        let length: u64 = length.trim().parse().map_err(|_| ApiError::invalid("Content-Length must be a number"))?;
        if length > max {
            return Err(too_large(&hub)); // before reading a byte of it
        }
    }
    let raw_name = header_str(&headers, "x-filename")?.ok_or_else(|| ApiError::invalid("X-Filename is required"))?;
    let filename = names::filename(raw_name).ok_or_else(|| ApiError::invalid("X-Filename must be percent-encoded UTF-8"))?;
    let content_type = names::content_type(headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()));
    let expected_sha256 = header_str(&headers, "x-sha256")?.map(|h| h.trim().to_ascii_lowercase());

    let mut incoming = hub.blobs.incoming().await.map_err(disk_error)?;
    let mut stream = body.into_data_stream();
    // How slow a body may be is the server's to judge (`server`: the request timeout, extended
    // as the body arrives); when it gives up, this future is dropped with `incoming`.
    while let Some(chunk) = stream.next().await {
        // A cut-off body ends here; `incoming` is dropped and takes its part file with it.
        let chunk = chunk.map_err(|_| ApiError::invalid("the upload was cut off"))?;
        if incoming.size() + chunk.len() as u64 > max {
            return Err(too_large(&hub));
        }
        incoming.write(&chunk).await.map_err(disk_error)?;
    }
    if incoming.size() == 0 {
        return Err(ApiError::invalid("the file is empty"));
    }
    let sha256 = incoming.sha256();
    if expected_sha256.is_some_and(|expected| expected != sha256) {
        return Err(ApiError::invalid("the file's SHA-256 is not the one given in X-Sha256"));
    }
    keep(&hub, incoming, &caller.user_id, &filename, &content_type).await.map(|attachment| (StatusCode::CREATED, Json(attachment)))
}

/// Makes a complete file an upload of `uploader_id`, not yet attached to anything: an image's
/// size is read (its thumbnail is made when first asked for), the file goes under a new id and
/// its row is written; a failure leaves neither. Also how the bridge stores the photos and
/// files of a WhatsApp or SMS message.
pub(crate) async fn keep(hub: &Hub, mut incoming: Incoming, uploader_id: &str, filename: &str, content_type: &str) -> ApiResult<Attachment> {
    incoming.flush().await.map_err(disk_error)?;
    let dimensions = if content_type.starts_with("image/") {
        let path = incoming.path().to_path_buf();
        tokio::task::spawn_blocking(move || thumbnail::dimensions(&path)).await.ok().flatten()
    } else {
        None
    };
    let id = new_id();
    let size = incoming.size();
    let sha256 = incoming.sha256();
    hub.blobs.keep(incoming, &id).await.map_err(disk_error)?;
    let new = NewUpload { id: &id, uploader_id, filename, content_type, size, sha256: &sha256, dimensions };
    match hub.store.create_upload(new).await {
        Ok(attachment) => Ok(attachment),
        Err(err) => {
            hub.blobs.remove(std::slice::from_ref(&id)).await; // no row, no file
            Err(err.into())
        }
    }
}

/// Headers every attachment response carries: never sniffed, never cached by others, never
/// run as a page.
fn safe_headers(headers: &mut HeaderMap) {
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
}

async fn visible(hub: &Hub, caller: &Caller, id: &str) -> ApiResult<Attachment> {
    hub.store.attachment_for(&caller.user_id, id).await?.ok_or_else(|| ApiError::not_found("attachment"))
}

/// The file: all of it, or one range of it.
#[utoipa::path(get, path = "/v1/attachments/{id}", tag = "attachments", security(("bearer" = [])),
    params(("id" = String, Path, description = "attachment id"),
        ("Range" = Option<String>, Header, description = "one range, bytes=FIRST-LAST, FIRST- or -SUFFIX")),
    responses((status = 200, description = "the whole file, with the Content-Type it was uploaded with", content_type = "*/*"),
        (status = 206, description = "the range asked for", content_type = "*/*"), (status = 404, body = ErrorBody),
        (status = 416, body = ErrorBody, description = "range_not_satisfiable")))]
pub async fn download(State(hub): State<Arc<Hub>>, caller: Caller, PathId(id, _): PathId<AttachmentId>, headers: HeaderMap) -> ApiResult<Response> {
    let attachment = visible(&hub, &caller, &id).await?;
    let path = hub.blobs.path(&attachment.id).ok_or_else(|| ApiError::not_found("attachment"))?;
    let mut file = tokio::fs::File::open(&path).await.map_err(|_| ApiError::not_found("attachment"))?;
    let size = attachment.size;
    let etag = format!("\"{}\"", attachment.sha256);
    // A range of a file that changed since the client's first part would splice two files.
    let still_same = headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok()).is_none_or(|tag| tag.trim() == etag);
    let wanted = if still_same { range::parse(headers.get(header::RANGE).and_then(|v| v.to_str().ok()), size) } else { Ranged::Full };
    let (status, start, length) = match wanted {
        Ranged::Full => (StatusCode::OK, 0, size),
        Ranged::Part { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        Ranged::Unsatisfiable => {
            let mut response = ApiError::new(ErrorCode::RangeNotSatisfiable, format!("the file has {size} bytes")).into_response();
            response.headers_mut().insert(header::CONTENT_RANGE, format!("bytes */{size}").parse().expect("ASCII"));
            return Ok(response);
        }
    };
    if start > 0 {
        file.seek(SeekFrom::Start(start)).await.map_err(disk_error)?;
    }
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(file.take(length), DOWNLOAD_CHUNK));
    let mut response = (status, body).into_response();
    let out = response.headers_mut();
    let content_type = HeaderValue::from_str(&attachment.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    out.insert(header::CONTENT_TYPE, content_type);
    out.insert(header::CONTENT_LENGTH, length.into());
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    out.insert(header::ETAG, etag.parse().expect("hex is ASCII"));
    out.insert(header::CONTENT_DISPOSITION, names::disposition(&attachment.filename).parse().expect("the disposition is ASCII"));
    if status == StatusCode::PARTIAL_CONTENT {
        out.insert(header::CONTENT_RANGE, format!("bytes {start}-{}/{size}", start + length - 1).parse().expect("ASCII"));
    }
    safe_headers(out);
    Ok(response)
}

/// A preview of an image attachment, at most 320 px on its longer side.
#[utoipa::path(get, path = "/v1/attachments/{id}/thumbnail", tag = "attachments", security(("bearer" = [])),
    params(("id" = String, Path, description = "attachment id")),
    responses((status = 200, description = "a JPEG, or a PNG for images with transparency", content_type = "image/*"),
        (status = 404, body = ErrorBody, description = "no such attachment, or not an image")))]
pub async fn thumbnail(State(hub): State<Arc<Hub>>, caller: Caller, PathId(id, _): PathId<AttachmentId>) -> ApiResult<Response> {
    let attachment = visible(&hub, &caller, &id).await?;
    let not_an_image = || ApiError::not_found("thumbnail");
    if attachment.width.is_none() {
        return Err(not_an_image());
    }
    let (source, cached) = match (hub.blobs.path(&attachment.id), hub.blobs.thumbnail_path(&attachment.id)) {
        (Some(source), Some(cached)) => (source, cached),
        _ => return Err(not_an_image()),
    };
    let bytes = match tokio::fs::read(&cached).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let _turn = hub.thumbnails.acquire().await.map_err(|_| not_an_image())?;
            let made = tokio::task::spawn_blocking(move || thumbnail::make(&source)).await.map_err(|_| not_an_image())?;
            let (bytes, _) = made.map_err(|err| {
                tracing::info!(error = %err, attachment_id = %attachment.id, "no thumbnail for this image");
                not_an_image()
            })?;
            // Written aside and renamed: a reader never sees half a thumbnail.
            let part = cached.with_extension("thumb.part");
            if tokio::fs::write(&part, &bytes).await.is_ok() && tokio::fs::rename(&part, &cached).await.is_err() {
                let _ = tokio::fs::remove_file(&part).await;
            }
            bytes
        }
    };
    let mut response = ([(header::CONTENT_TYPE, thumbnail::media_type(&bytes))], bytes).into_response();
    safe_headers(response.headers_mut());
    Ok(response)
}
