//! Reading request bodies field by field, so that an error names the field it is about.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::ApiError;

/// A JSON object body whose fields are taken one at a time; [`finish`](Self::finish) refuses
/// the fields nobody took, so a misspelt field is an error rather than silently ignored.
#[derive(Debug)]
pub(crate) struct Object(Map<String, Value>);

impl Object {
    /// Parses `body` as a JSON object. An empty body is an empty object when `empty_ok`.
    pub(crate) fn parse(body: &[u8], empty_ok: bool) -> Result<Self, ApiError> {
        if empty_ok && body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(Map::new()));
        }
        match serde_json::from_slice(body) {
            Ok(Value::Object(fields)) => Ok(Self(fields)),
            Ok(_) => Err(ApiError::invalid_request(
                None,
                "the body must be a JSON object",
            )),
            Err(error) => Err(ApiError::invalid_request(
                None,
                format!("the body is not valid JSON: {error}"),
            )),
        }
    }

    /// The field `name`, which must be present and not `null`.
    pub(crate) fn required<T: DeserializeOwned>(
        &mut self,
        name: &'static str,
    ) -> Result<T, ApiError> {
        match self.take(name)? {
            Some(Some(value)) => Ok(value),
            Some(None) => Err(ApiError::invalid_request(
                Some(name),
                format!("`{name}` must not be null"),
            )),
            None => Err(ApiError::invalid_request(
                Some(name),
                format!("`{name}` is required"),
            )),
        }
    }

    /// The field `name`: `None` when absent, `Some(None)` when `null`.
    pub(crate) fn take<T: DeserializeOwned>(
        &mut self,
        name: &'static str,
    ) -> Result<Option<Option<T>>, ApiError> {
        let Some(value) = self.0.remove(name) else {
            return Ok(None);
        };
        if value.is_null() {
            return Ok(Some(None));
        }
        serde_json::from_value(value)
            .map(|value| Some(Some(value)))
            .map_err(|error| {
                ApiError::invalid_request(Some(name), format!("`{name}` is invalid: {error}"))
            })
    }

    /// Refuses fields that no one took.
    pub(crate) fn finish(self) -> Result<(), ApiError> {
        match self.0.keys().next() {
            None => Ok(()),
            Some(unknown) => Err(ApiError::invalid_request(
                None,
                format!(
                    "unknown field `{}`",
                    unknown.chars().take(64).collect::<String>()
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_field_that_is_wrong() {
        let mut body = Object::parse(br#"{"name": 5}"#, false).unwrap();
        let error = body.required::<String>("name").unwrap_err();
        assert_eq!(error.field(), Some("name"));
        let mut body = Object::parse(b"{}", false).unwrap();
        assert_eq!(
            body.required::<String>("name").unwrap_err().field(),
            Some("name")
        );
    }

    #[test]
    fn tells_absent_from_null() {
        let mut body = Object::parse(br#"{"expires_at": null}"#, false).unwrap();
        assert_eq!(body.take::<i64>("expires_at").unwrap(), Some(None));
        assert_eq!(body.take::<i64>("expires_at").unwrap(), None);
    }

    #[test]
    fn refuses_unknown_fields_and_non_objects() {
        let body = Object::parse(br#"{"nmae": "x"}"#, false).unwrap();
        assert!(body.finish().unwrap_err().message().contains("nmae"));
        assert!(Object::parse(b"[]", false).is_err());
        assert!(Object::parse(b"", false).is_err());
        assert!(Object::parse(b"  ", true).unwrap().finish().is_ok());
        assert!(Object::parse(b"{", true).is_err());
    }
}
