//! Template variables (1.1, §3): `{{first_name}}`, `{{display_name}}`, `{{job_title}}` and
//! `{{my_name}}` in a saved reply, filled in by the client before it sends.
//!
//! The hub refuses to save a template that names anything else, and a client refuses to send
//! one it cannot fill: a variable never goes out as braces.

/// The variables a template may use.
pub const VARIABLES: [&str; 4] = ["first_name", "display_name", "job_title", "my_name"];

/// One piece of a template: text as it is, or a variable to fill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Literal text.
    Text(&'a str),
    /// The name between `{{` and `}}`, trimmed.
    Variable(&'a str),
}

/// Why a template cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// `{{name}}` with a name that is not one of [`VARIABLES`].
    Unknown(String),
    /// A `{{` without its `}}`.
    Unclosed,
    /// A known variable this conversation has no value for (no job card yet, …).
    Unfillable(String),
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TemplateError::Unknown(name) => {
                write!(f, "unknown template variable {{{{{name}}}}} (known: {})", VARIABLES.map(|v| format!("{{{{{v}}}}}")).join(", "))
            }
            TemplateError::Unclosed => f.write_str("a template variable opened with {{ is not closed with }}"),
            TemplateError::Unfillable(name) => write!(f, "the template variable {{{{{name}}}}} has no value in this conversation"),
        }
    }
}

impl std::error::Error for TemplateError {}

/// The template in pieces; an unknown variable or an unclosed `{{` is an error.
pub fn parse(body: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = body;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            pieces.push(Piece::Text(&rest[..open]));
        }
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or(TemplateError::Unclosed)?;
        let name = after[..close].trim();
        if !VARIABLES.contains(&name) {
            return Err(TemplateError::Unknown(name.to_owned()));
        }
        pieces.push(Piece::Variable(name));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Ok(pieces)
}

/// The template with every variable replaced by `value(name)`; a variable without a value
/// (`None`, or only whitespace) is an error.
pub fn fill(body: &str, value: impl Fn(&str) -> Option<String>) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(body.len());
    for piece in parse(body)? {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Variable(name) => match value(name) {
                Some(v) if !v.trim().is_empty() => out.push_str(&v),
                _ => return Err(TemplateError::Unfillable(name.to_owned())),
            },
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_variables_are_filled_and_text_is_kept() {
        let value = |name: &str| match name {
            "first_name" => Some("Ada".to_owned()),
            "job_title" => Some("Rust engineer".to_owned()),
            _ => None,
        };
        assert_eq!(fill("Hi {{first_name}}, the {{ job_title }} role!", value).unwrap(), "Hi Ada, the Rust engineer role!");
        assert_eq!(fill("no variables { at } all", value).unwrap(), "no variables { at } all");
        assert_eq!(fill("from {{my_name}}", value), Err(TemplateError::Unfillable("my_name".into())));
    }

    #[test]
    fn unknown_and_unclosed_variables_are_errors() {
        assert_eq!(parse("Hi {{salary}}"), Err(TemplateError::Unknown("salary".into())));
        assert_eq!(parse("Hi {{first_name"), Err(TemplateError::Unclosed));
        assert!(TemplateError::Unknown("x".into()).to_string().contains("{{first_name}}"), "the message lists what is known");
    }
}
