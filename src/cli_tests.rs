use super::*;
use clap::CommandFactory;

#[test]
fn cli_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn durations() {
    assert_eq!(parse_duration_secs("90"), Ok(90));
    assert_eq!(parse_duration_secs("5m"), Ok(300));
    assert_eq!(parse_duration_secs("1h"), Ok(3600));
    assert!(parse_duration_secs("-1").is_err());
    assert!(parse_duration_secs("soon").is_err());
}

#[test]
fn value_enums_use_the_registered_names() {
    let names = |v: &[&dyn Fn() -> Option<clap::builder::PossibleValue>]| -> Vec<String> {
        v.iter()
            .filter_map(|f| f().map(|p| p.get_name().to_string()))
            .collect()
    };
    assert_eq!(
        names(&[
            &|| ClientAuthChoice::ClientSecretBasic.to_possible_value(),
            &|| ClientAuthChoice::ClientSecretPost.to_possible_value(),
            &|| ClientAuthChoice::PrivateKeyJwt.to_possible_value(),
        ]),
        [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ]
    );
    assert_eq!(
        AssertionAudienceChoice::TokenEndpoint
            .to_possible_value()
            .unwrap()
            .get_name(),
        "token-endpoint"
    );
}
