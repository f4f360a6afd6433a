//! RFC 7009 token revocation.

use super::grant::ClientRequest;
use super::http::Http;
use super::{ProtocolError, parse_reply};

/// Revoke one token. `hint` is `refresh_token` or `access_token`.
/// HTTP 2xx means revoked (or already unknown to the server, RFC 7009 §2.2).
pub async fn revoke(
    http: &Http,
    endpoint: &str,
    client: &ClientRequest,
    token: &str,
    hint: &str,
) -> Result<(), ProtocolError> {
    // Only client authentication: audience/resource extras do not belong here.
    let bare = ClientRequest {
        client_id: client.client_id.clone(),
        auth: client.auth.clone(),
        assertion_audience: client.assertion_audience.clone(),
        ..Default::default()
    };
    let (form, header) = bare.form(endpoint, &[("token", token), ("token_type_hint", hint)])?;
    let secrets = super::grant::request_secrets(&form, header.as_ref());
    async {
        let reply = http.post_form(endpoint, &form, header.as_ref()).await?;
        if (200..300).contains(&reply.status) {
            return Ok(());
        }
        // Not a success: turn it into an OAuth or HTTP error (never quoting the body).
        match parse_reply::<serde_json::Value>(&reply, endpoint) {
            Err(e) => Err(e),
            Ok(_) => Err(ProtocolError::Status {
                status: reply.status,
                content_type: reply.content_type.clone(),
                url: super::http::strip_query(endpoint),
                retry_after: reply.retry_after,
            }),
        }
    }
    .await
    .map_err(|e| e.scrubbed(&secrets))
}
