//! REST bodies and the objects shared by REST and the gateway, one file per concept.

mod account;
mod bridges;
mod conversations;
mod messages;
mod cards;
mod scheduled;
mod templates;
mod notifications;
mod presence;

pub use account::*;
pub use bridges::*;
pub use conversations::*;
pub use messages::*;
pub use cards::*;
pub use scheduled::*;
pub use templates::*;
pub use notifications::*;
pub use presence::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_conversation_is_tagged_by_kind() {
        let direct: CreateConversation =
            serde_json::from_str(r#"{"kind":"direct","user_id":"u1"}"#).unwrap();
        assert!(matches!(direct, CreateConversation::Direct { user_id } if user_id == "u1"));
        let group: CreateConversation =
            serde_json::from_str(r#"{"kind":"group","title":"T","member_ids":["a","b"]}"#).unwrap();
        assert!(matches!(group, CreateConversation::Group { member_ids, .. } if member_ids.len() == 2));
        assert!(serde_json::from_str::<CreateConversation>(r#"{"kind":"channel"}"#).is_err());
    }

    #[test]
    fn a_v1_message_decodes_with_the_1_1_defaults_and_serialises_every_field() {
        let v1 = r#"{"id":"m","conversation_id":"c","seq":3,"sender_id":"u","body":"hi","client_msg_id":"k","created_at":"2026-01-01T00:00:00Z"}"#;
        let m: Message = serde_json::from_str(v1).unwrap();
        assert_eq!((m.kind, m.rev, m.reply_to.as_deref(), m.is_deleted()), (MessageKind::Text, 0, None, false));
        assert!(m.attachments.is_empty() && m.reactions.is_empty() && m.card.is_none());
        let v = serde_json::to_value(&m).unwrap();
        for field in ["kind", "card", "reply_to", "attachments", "reactions", "edited_at", "deleted_at", "rev"] {
            assert!(v.as_object().unwrap().contains_key(field), "1.1 clients rely on {field} being present: {v}");
        }
        let c: Conversation = serde_json::from_str(
            r#"{"id":"c","kind":"group","title":"T","members":[],"last_seq":0,"last_message":null,"unread_count":0,"created_at":"2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!((c.last_rev, c.application, c.bridge), (0, None, None), "a v1 conversation decodes too");
    }

    #[test]
    fn cards_are_told_apart_by_their_fields() {
        let job: Card = serde_json::from_str(r#"{"title":"Rust engineer","company":"Acme","salary":"90k"}"#).unwrap();
        assert_eq!(job.kind(), MessageKind::Job);
        let status: Card = serde_json::from_str(r#"{"job_title":"Rust engineer","status":"interview"}"#).unwrap();
        assert_eq!(status.kind(), MessageKind::ApplicationStatus);
        assert!(serde_json::from_str::<Card>(r#"{"job_title":"x","status":"promoted"}"#).is_err(), "unknown status");
        assert!(serde_json::from_str::<Card>(r#"{"title":"x","company":"y","status":"applied"}"#).is_err(), "a mix of two kinds is neither");
        assert!(serde_json::from_str::<Card>(r#"{"kind":"promo","title":"x","company":"y"}"#).is_err(), "an unknown kind is refused");
        for status in ApplicationStatus::ALL {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
            assert_eq!(ApplicationStatus::parse(status.as_str()), Some(status));
        }
        let v = serde_json::to_value(&job).unwrap();
        assert!(v.get("location").is_none() && v.get("url").is_none(), "absent optional card fields stay absent: {v}");
    }

    #[test]
    fn attachment_dimensions_are_only_sent_for_images() {
        let a = Attachment { id: "a".into(), filename: "cv.pdf".into(), content_type: "application/pdf".into(), size: 3, sha256: "00".into(), width: None, height: None };
        let v = serde_json::to_value(&a).unwrap();
        assert!(v.get("width").is_none() && v.get("height").is_none(), "{v}");
        assert_eq!(serde_json::from_value::<Attachment>(v).unwrap(), a);
    }

    #[test]
    fn conversation_title_serialises_null_for_direct() {
        let c = Conversation {
            id: "c".into(),
            kind: ConversationKind::Direct,
            title: None,
            members: vec![],
            last_seq: 0,
            last_message: None,
            unread_count: 0,
            created_at: "2026-01-01T00:00:00Z".into(),
            last_rev: 0,
            application: None,
            bridge: None,
        };
        let v = serde_json::to_value(&c).unwrap();
        assert!(v["title"].is_null() && v["last_message"].is_null(), "nulls must be present: {v}");
        assert!(v.get("bridge").is_none(), "a conversation of accounts has no bridge field at all: {v}");
    }

    /// The 1.1 types come out as TypeScript the UI can use as it is: optional fields that may
    /// be absent are `?:`, nullable ones `| null`, sizes plain numbers, a card one of its shapes.
    #[cfg(feature = "ts")]
    #[test]
    fn the_1_1_types_derive_typescript() {
        use ts_rs::{Config, TS};
        let cfg = Config::new().with_large_int("number");
        let attachment = Attachment::decl(&cfg);
        assert!(attachment.contains("size: number") && attachment.contains("width?: number"), "{attachment}");
        let message = Message::decl(&cfg);
        for field in ["kind: MessageKind", "card: Card | null", "reply_to: string | null", "attachments: Array<Attachment>", "reactions: Array<Reaction>", "deleted_at: string | null", "rev: number"] {
            assert!(message.contains(field), "{field} in {message}");
        }
        let card = Card::decl(&cfg);
        assert!(card.contains("JobCard | ApplicationStatusCard"), "{card}");
        let status = ApplicationStatus::decl(&cfg);
        assert!(status.contains(r#""interview""#) && status.contains(r#""withdrawn""#), "{status}");
        assert!(MessageKind::decl(&cfg).contains(r#""application_status""#));
        assert!(Reaction::decl(&cfg).contains("user_ids: Array<string>"));
        assert!(Application::decl(&cfg).contains("status: ApplicationStatus"));
        assert!(ApplicationStatusCard::decl(&cfg).contains("note?: string"));
    }
}
