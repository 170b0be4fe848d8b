//! Conversations and their history.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use rapport_protocol::rest::{ConversationList, CreateConversation, MessagePage, ReadRequest};
use rapport_protocol::{Conversation, ErrorBody, HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX};
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::{Body, Caller, ConversationId, Params, PathId};
use super::text::one_line;
use crate::error::{ApiError, ApiResult};
use crate::gateway::announce;
use crate::store::{Page, StoreError};
use crate::Hub;

const MAX_TITLE_CHARS: usize = 200;
const MAX_GROUP_MEMBERS: usize = 1000;

fn not_found(err: StoreError) -> ApiError {
    match err {
        StoreError::NotFound => ApiError::not_found("conversation"),
        other => other.into(),
    }
}

/// Starts a direct conversation (or returns the existing one) or a group.
#[utoipa::path(post, path = "/v1/conversations", tag = "conversations", request_body = CreateConversation,
    security(("bearer" = [])),
    responses((status = 201, body = Conversation), (status = 200, body = Conversation, description = "the direct conversation of this pair already existed"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create(State(hub): State<Arc<Hub>>, caller: Caller, Body(req): Body<CreateConversation>) -> ApiResult<(StatusCode, Json<Conversation>)> {
    let (conversation, created) = match req {
        CreateConversation::Direct { user_id } => {
            if user_id == caller.user_id {
                return Err(ApiError::invalid("a direct conversation needs another person"));
            }
            hub.store.direct_conversation(&caller.user_id, &user_id).await.map_err(|e| match e {
                StoreError::NotFound => ApiError::not_found("user"),
                other => other.into(),
            })?
        }
        CreateConversation::Group { title, member_ids } => {
            let title = one_line("title", &title, MAX_TITLE_CHARS)?;
            if member_ids.len() > MAX_GROUP_MEMBERS {
                return Err(ApiError::invalid("a group has at most 1000 members"));
            }
            let group = hub.store.create_group(&caller.user_id, title, &member_ids).await.map_err(|e| match e {
                StoreError::NotFound => ApiError::not_found("user"),
                other => other.into(),
            })?;
            (group, true)
        }
    };
    if !created {
        return Ok((StatusCode::OK, Json(conversation)));
    }
    announce::conversation_created(&hub, &conversation).await;
    Ok((StatusCode::CREATED, Json(conversation)))
}

/// The caller's conversations, most recent activity first.
#[utoipa::path(get, path = "/v1/conversations", tag = "conversations", security(("bearer" = [])),
    responses((status = 200, body = ConversationList), (status = 401, body = ErrorBody)))]
pub async fn list(State(hub): State<Arc<Hub>>, caller: Caller) -> ApiResult<Json<ConversationList>> {
    let conversations = hub.store.conversations_of(&caller.user_id).await?;
    Ok(Json(ConversationList { conversations }))
}

/// One conversation of the caller.
#[utoipa::path(get, path = "/v1/conversations/{id}", tag = "conversations", security(("bearer" = [])),
    params(("id" = String, Path, description = "conversation id")),
    responses((status = 200, body = Conversation), (status = 404, body = ErrorBody)))]
pub async fn get(State(hub): State<Arc<Hub>>, caller: Caller, PathId(id, _): PathId<ConversationId>) -> ApiResult<Json<Conversation>> {
    Ok(Json(hub.store.conversation(&caller.user_id, &id).await.map_err(not_found)?))
}

/// History paging.
#[derive(Deserialize, IntoParams)]
pub struct HistoryQuery {
    /// The messages right after this seq.
    after_seq: Option<i64>,
    /// The messages right before this seq.
    before_seq: Option<i64>,
    /// (1.1) The messages changed (created, edited, deleted, reacted to) after this rev,
    /// ascending by rev.
    changed_after_rev: Option<i64>,
    /// Page size (default 50, at most 200).
    limit: Option<u32>,
}

/// A page of history, always ascending by seq (by rev with `changed_after_rev`).
#[utoipa::path(get, path = "/v1/conversations/{id}/messages", tag = "conversations", security(("bearer" = [])),
    params(("id" = String, Path, description = "conversation id"), HistoryQuery),
    responses((status = 200, body = MessagePage), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn messages(State(hub): State<Arc<Hub>>, caller: Caller, PathId(id, _): PathId<ConversationId>, Params(query): Params<HistoryQuery>) -> ApiResult<Json<MessagePage>> {
    let page = match (query.after_seq, query.before_seq, query.changed_after_rev) {
        (Some(seq), None, None) if seq >= 0 => Page::After(seq),
        (None, Some(seq), None) if seq >= 0 => Page::Before(seq),
        (None, None, Some(rev)) if rev >= 0 => Page::ChangedAfter(rev),
        (None, None, None) => Page::Latest,
        (after, before, changed) if [after, before, changed].iter().flatten().count() > 1 => {
            return Err(ApiError::invalid("give one of after_seq, before_seq and changed_after_rev"))
        }
        _ => return Err(ApiError::invalid("after_seq, before_seq and changed_after_rev must be 0 or more")),
    };
    let limit = match query.limit {
        None => HISTORY_PAGE_DEFAULT,
        Some(0) => return Err(ApiError::invalid("limit must be at least 1")),
        Some(limit) => limit.min(HISTORY_PAGE_MAX),
    };
    let (messages, has_more) = hub.store.messages(&caller.user_id, &id, page, limit).await.map_err(not_found)?;
    Ok(Json(MessagePage { messages, has_more }))
}

/// Marks everything up to `seq` read (the gateway `read` op over REST).
#[utoipa::path(post, path = "/v1/conversations/{id}/read", tag = "conversations", security(("bearer" = [])),
    params(("id" = String, Path, description = "conversation id")), request_body = ReadRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn read(State(hub): State<Arc<Hub>>, caller: Caller, PathId(id, _): PathId<ConversationId>, Body(req): Body<ReadRequest>) -> ApiResult<StatusCode> {
    crate::gateway::read_over_rest(&hub, &caller.user_id, &id, req.seq).await?;
    Ok(StatusCode::NO_CONTENT)
}
