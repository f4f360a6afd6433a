# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_vmauth_global_optspecs
    string join \n store= profile= h/help V/version
end

function __fish_vmauth_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_vmauth_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_vmauth_using_subcommand
    set -l cmd (__fish_vmauth_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c vmauth -n "__fish_vmauth_needs_command" -l store -d 'Where credentials live [env: VMAUTH_STORE; default: auto]' -r -f -a "auto\t'The OS keychain if one answers, else the 0600 file; the choice is remembered'
keyring\t'The OS keychain only (Secret Service, macOS Keychain, Windows Credential Manager)'
file\t'The 0600 JSON file shared with the ValidMind library'
memory\t'Nothing is written; the login lives as long as the process'
helper\t'An external credential helper (VMAUTH_CREDENTIAL_HELPER)'"
complete -c vmauth -n "__fish_vmauth_needs_command" -l profile -d 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]' -r
complete -c vmauth -n "__fish_vmauth_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vmauth -n "__fish_vmauth_needs_command" -s V -l version -d 'Print version'
complete -c vmauth -n "__fish_vmauth_needs_command" -f -a "login" -d 'Log in (device flow or browser) and store the tokens'
complete -c vmauth -n "__fish_vmauth_needs_command" -f -a "token" -d 'Print a valid access token on stdout, refreshing it when needed'
complete -c vmauth -n "__fish_vmauth_needs_command" -f -a "exec" -d 'Run a command with a valid token in its environment'
complete -c vmauth -n "__fish_vmauth_needs_command" -f -a "status" -d 'Show who is logged in, until when, and where the credentials are stored'
complete -c vmauth -n "__fish_vmauth_needs_command" -f -a "logout" -d 'Revoke the tokens at the identity provider and remove the login'
complete -c vmauth -n "__fish_vmauth_needs_command" -f -a "profiles" -d 'List the profiles of config.toml, with their issuer and client and whether a usable login exists for each'
complete -c vmauth -n "__fish_vmauth_needs_command" -f -a "completions" -d 'Print the shell completion script for SHELL'
complete -c vmauth -n "__fish_vmauth_needs_command" -f -a "git-credential" -d 'git\'s credential helper: a fresh token for the hosts a login serves'
complete -c vmauth -n "__fish_vmauth_needs_command" -f -a "cargo-credential" -d 'cargo\'s credential provider: a fresh token for the registries a login serves'
complete -c vmauth -n "__fish_vmauth_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l store -d 'Where credentials live [env: VMAUTH_STORE; default: auto]' -r -f -a "auto\t'The OS keychain if one answers, else the 0600 file; the choice is remembered'
keyring\t'The OS keychain only (Secret Service, macOS Keychain, Windows Credential Manager)'
file\t'The 0600 JSON file shared with the ValidMind library'
memory\t'Nothing is written; the login lives as long as the process'
helper\t'An external credential helper (VMAUTH_CREDENTIAL_HELPER)'"
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l profile -d 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l issuer -d 'Issuer URL of the OpenID Provider (https, or http on loopback) [env: VMAUTH_ISSUER]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l client-id -d 'OAuth client id registered at the identity provider [env: VMAUTH_CLIENT_ID]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l audience -d 'API audience for the access token (sent as `audience`, as Auth0 needs) [env: VMAUTH_AUDIENCE]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l scope -d 'Scopes to request, space- or comma-separated (client credentials: none by default) [env: VMAUTH_SCOPE; default: openid profile email offline_access (device login)]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l resource -d 'RFC 8707 resource indicator (repeatable)' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l client-auth -d 'Client authentication method (by default: private_key_jwt when a key or assertion is given, else from the issuer\'s metadata, else client_secret_basic) [env: VMAUTH_CLIENT_AUTH]' -r -f -a "client_secret_basic\t'The client id and secret in an HTTP Basic `Authorization` header'
client_secret_post\t'The client id and secret in the request body'
private_key_jwt\t'A signed JWT assertion (RFC 7523): a private key or an assertion file'"
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l client-secret-file -d 'Read the client secret from this file (the secret can also come from the VMAUTH_CLIENT_SECRET environment variable) [env: VMAUTH_CLIENT_SECRET_FILE]' -r -F
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l private-key -d 'PEM private key (RSA or P-256 EC) for private_key_jwt (RFC 7523) [env: VMAUTH_PRIVATE_KEY]' -r -F
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l key-id -d '`kid` header for assertions signed with --private-key [env: VMAUTH_KEY_ID]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l client-assertion-file -d 'A ready-made client assertion (JWT) in a file, re-read on every request (e.g. a CI platform\'s federated identity token) [env: VMAUTH_CLIENT_ASSERTION_FILE]' -r -F
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l assertion-audience -d 'The `aud` of signed client assertions [env: VMAUTH_ASSERTION_AUDIENCE; default: token-endpoint]' -r -f -a "token-endpoint\t'The token endpoint the assertion is sent to (Okta, Entra, Keycloak)'
issuer\t'The issuer exactly as its metadata publishes it (Auth0)'"
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l client-secret -d 'Not accepted: secrets on the command line leak into ps and shell history' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l grant -d 'The grant of a CI job: client_credentials (the default; with --federated-token, the platform\'s token is the client assertion), jwt-bearer or token-exchange (the platform\'s token is the grant) [env: VMAUTH_GRANT; default: device_code]' -r -f -a "client_credentials\t'The client credentials grant (RFC 6749)'
jwt-bearer\t'The JWT-bearer authorization grant (RFC 7523)'
token-exchange\t'Token exchange (RFC 8693)'"
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l federated-token -d 'Where the CI platform\'s own OIDC token comes from, fetched fresh for each token request: auto, github, gitlab (or gitlab:VAR), azure-pipelines:CONNECTION, circleci, buildkite, kubernetes (or kubernetes:PATH), gcp, file:PATH, env:VAR or exec:COMMAND (README: CI without secrets) [env: VMAUTH_FEDERATED_TOKEN]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l federated-audience -d 'The audience to ask the CI platform\'s token for (github, gcp, circleci, buildkite); not the `aud` of assertions vmauth signs (--assertion-audience) [env: VMAUTH_FEDERATED_AUDIENCE]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l actor-token -d 'Token exchange: who acts for the subject, from a SOURCE as for --federated-token [env: VMAUTH_ACTOR_TOKEN]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l subject-token-type -d 'Token exchange: the type of the federated token: jwt (the default), id_token or access_token' -r -f -a "jwt\t'`urn:ietf:params:oauth:token-type:jwt`'
id_token\t'`urn:ietf:params:oauth:token-type:id_token`'
access_token\t'`urn:ietf:params:oauth:token-type:access_token`'"
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l param -d 'An extra parameter of the token request a provider requires (e.g. a federation rule id); repeatable. Parameters vmauth sets are refused' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l flow -d 'How to sign in: auto (the device flow when the provider offers it, else the browser), device, or browser [env: VMAUTH_FLOW; default: auto]' -r -f -a "auto\t'The device flow when the identity provider offers it, else the browser; the browser also when the device flow is refused by policy'
device\t'A code to enter on any device (RFC 8628)'
browser\t'This machine\'s browser, or an address to paste back (authorization code with PKCE)'"
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l redirect-port -d 'The browser flow\'s loopback port, for a provider that registers the redirect URI with its port (default: any free port)' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l redirect-uri -d 'The browser flow\'s redirect URI exactly as registered: `http://127.0.0.1:PORT/PATH` or `http://[::1]:PORT/PATH`' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l timeout -d 'How long to wait for the sign-in in the browser' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l save-profile -d 'After logging in, save the options used as profile NAME in config.toml' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l authorization-server -d 'Starting from an API whose metadata names several authorization servers: the one to sign in with' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l client-metadata-url -d 'Starting from an API: identify vmauth by this Client ID Metadata Document (an https URL) where the server takes them' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l registration-token-file -d 'Starting from an API: the initial access token a server requires for registration (RFC 7591), read from this file (or VMAUTH_REGISTRATION_TOKEN)' -r -F
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l client-credentials -d 'Use the OAuth client credentials grant instead of the device flow (also VMAUTH_GRANT=client_credentials)'
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l client-secret-stdin -d 'Read the client secret from standard input'
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l no-qr -d 'Do not show the QR code'
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l qr -d 'Show the QR code even when stderr is not a terminal'
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l browser -d 'Sign in with this machine\'s browser (or paste the address it was sent to): --flow browser'
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l device -d 'Sign in with a code entered on any device: --flow device'
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l open -d 'Open the sign-in page in a browser (the browser flow does where one is plausible; the device flow only with this flag)'
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -l no-open -d 'Never open a browser; only print the address'
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vmauth -n "__fish_vmauth_using_subcommand login" -s V -l version -d 'Print version'
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l store -d 'Where credentials live [env: VMAUTH_STORE; default: auto]' -r -f -a "auto\t'The OS keychain if one answers, else the 0600 file; the choice is remembered'
keyring\t'The OS keychain only (Secret Service, macOS Keychain, Windows Credential Manager)'
file\t'The 0600 JSON file shared with the ValidMind library'
memory\t'Nothing is written; the login lives as long as the process'
helper\t'An external credential helper (VMAUTH_CREDENTIAL_HELPER)'"
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l profile -d 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l issuer -d 'Issuer URL of the OpenID Provider (https, or http on loopback) [env: VMAUTH_ISSUER]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l client-id -d 'OAuth client id registered at the identity provider [env: VMAUTH_CLIENT_ID]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l audience -d 'API audience for the access token (sent as `audience`, as Auth0 needs) [env: VMAUTH_AUDIENCE]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l scope -d 'Scopes to request, space- or comma-separated (client credentials: none by default) [env: VMAUTH_SCOPE; default: openid profile email offline_access (device login)]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l resource -d 'RFC 8707 resource indicator (repeatable)' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l client-auth -d 'Client authentication method (by default: private_key_jwt when a key or assertion is given, else from the issuer\'s metadata, else client_secret_basic) [env: VMAUTH_CLIENT_AUTH]' -r -f -a "client_secret_basic\t'The client id and secret in an HTTP Basic `Authorization` header'
client_secret_post\t'The client id and secret in the request body'
private_key_jwt\t'A signed JWT assertion (RFC 7523): a private key or an assertion file'"
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l client-secret-file -d 'Read the client secret from this file (the secret can also come from the VMAUTH_CLIENT_SECRET environment variable) [env: VMAUTH_CLIENT_SECRET_FILE]' -r -F
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l private-key -d 'PEM private key (RSA or P-256 EC) for private_key_jwt (RFC 7523) [env: VMAUTH_PRIVATE_KEY]' -r -F
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l key-id -d '`kid` header for assertions signed with --private-key [env: VMAUTH_KEY_ID]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l client-assertion-file -d 'A ready-made client assertion (JWT) in a file, re-read on every request (e.g. a CI platform\'s federated identity token) [env: VMAUTH_CLIENT_ASSERTION_FILE]' -r -F
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l assertion-audience -d 'The `aud` of signed client assertions [env: VMAUTH_ASSERTION_AUDIENCE; default: token-endpoint]' -r -f -a "token-endpoint\t'The token endpoint the assertion is sent to (Okta, Entra, Keycloak)'
issuer\t'The issuer exactly as its metadata publishes it (Auth0)'"
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l client-secret -d 'Not accepted: secrets on the command line leak into ps and shell history' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l grant -d 'The grant of a CI job: client_credentials (the default; with --federated-token, the platform\'s token is the client assertion), jwt-bearer or token-exchange (the platform\'s token is the grant) [env: VMAUTH_GRANT; default: device_code]' -r -f -a "client_credentials\t'The client credentials grant (RFC 6749)'
jwt-bearer\t'The JWT-bearer authorization grant (RFC 7523)'
token-exchange\t'Token exchange (RFC 8693)'"
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l federated-token -d 'Where the CI platform\'s own OIDC token comes from, fetched fresh for each token request: auto, github, gitlab (or gitlab:VAR), azure-pipelines:CONNECTION, circleci, buildkite, kubernetes (or kubernetes:PATH), gcp, file:PATH, env:VAR or exec:COMMAND (README: CI without secrets) [env: VMAUTH_FEDERATED_TOKEN]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l federated-audience -d 'The audience to ask the CI platform\'s token for (github, gcp, circleci, buildkite); not the `aud` of assertions vmauth signs (--assertion-audience) [env: VMAUTH_FEDERATED_AUDIENCE]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l actor-token -d 'Token exchange: who acts for the subject, from a SOURCE as for --federated-token [env: VMAUTH_ACTOR_TOKEN]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l subject-token-type -d 'Token exchange: the type of the federated token: jwt (the default), id_token or access_token' -r -f -a "jwt\t'`urn:ietf:params:oauth:token-type:jwt`'
id_token\t'`urn:ietf:params:oauth:token-type:id_token`'
access_token\t'`urn:ietf:params:oauth:token-type:access_token`'"
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l param -d 'An extra parameter of the token request a provider requires (e.g. a federation rule id); repeatable. Parameters vmauth sets are refused' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l min-ttl -d 'Refresh when less than this is left (seconds, or with s/m/h suffix; at most half the token\'s lifetime) [env: VMAUTH_MIN_TTL; default: 60]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l token-type -d 'Which token of the login [env: VMAUTH_TOKEN_TYPE; default: access]' -r -f -a "access\t'The access token (for APIs)'
id\t'The OpenID Connect ID token (for APIs that accept only it, e.g. some Entra APIs)'"
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -s o -l output -d 'How to print the token [env: VMAUTH_OUTPUT; default: raw]' -r -f -a "raw\t'The token and a newline'
header\t'`Authorization: Bearer <token>`, for `curl -H @-`'
json\t'A JSON object: token, token_type, expiry, issuer, client, audience, scopes, claims'
env\t'POSIX shell export lines, to load with eval'
exec-credential\t'A Kubernetes ExecCredential, for kubectl\'s exec credential plugins'"
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l client-credentials -d 'Use the OAuth client credentials grant instead of the device flow (also VMAUTH_GRANT=client_credentials)'
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l client-secret-stdin -d 'Read the client secret from standard input'
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l force-refresh -d 'Refresh now (for client credentials: request a new token) even when the cached token is still good, e.g. after it was revoked at the identity provider'
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -l exchange -d 'Exchange the login\'s access token (RFC 8693) for one for --audience AUD, kept as its own login and exchanged again when it runs out'
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vmauth -n "__fish_vmauth_using_subcommand token" -s V -l version -d 'Print version'
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l store -d 'Where credentials live [env: VMAUTH_STORE; default: auto]' -r -f -a "auto\t'The OS keychain if one answers, else the 0600 file; the choice is remembered'
keyring\t'The OS keychain only (Secret Service, macOS Keychain, Windows Credential Manager)'
file\t'The 0600 JSON file shared with the ValidMind library'
memory\t'Nothing is written; the login lives as long as the process'
helper\t'An external credential helper (VMAUTH_CREDENTIAL_HELPER)'"
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l profile -d 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l issuer -d 'Issuer URL of the OpenID Provider (https, or http on loopback) [env: VMAUTH_ISSUER]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l client-id -d 'OAuth client id registered at the identity provider [env: VMAUTH_CLIENT_ID]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l audience -d 'API audience for the access token (sent as `audience`, as Auth0 needs) [env: VMAUTH_AUDIENCE]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l scope -d 'Scopes to request, space- or comma-separated (client credentials: none by default) [env: VMAUTH_SCOPE; default: openid profile email offline_access (device login)]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l resource -d 'RFC 8707 resource indicator (repeatable)' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l client-auth -d 'Client authentication method (by default: private_key_jwt when a key or assertion is given, else from the issuer\'s metadata, else client_secret_basic) [env: VMAUTH_CLIENT_AUTH]' -r -f -a "client_secret_basic\t'The client id and secret in an HTTP Basic `Authorization` header'
client_secret_post\t'The client id and secret in the request body'
private_key_jwt\t'A signed JWT assertion (RFC 7523): a private key or an assertion file'"
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l client-secret-file -d 'Read the client secret from this file (the secret can also come from the VMAUTH_CLIENT_SECRET environment variable) [env: VMAUTH_CLIENT_SECRET_FILE]' -r -F
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l private-key -d 'PEM private key (RSA or P-256 EC) for private_key_jwt (RFC 7523) [env: VMAUTH_PRIVATE_KEY]' -r -F
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l key-id -d '`kid` header for assertions signed with --private-key [env: VMAUTH_KEY_ID]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l client-assertion-file -d 'A ready-made client assertion (JWT) in a file, re-read on every request (e.g. a CI platform\'s federated identity token) [env: VMAUTH_CLIENT_ASSERTION_FILE]' -r -F
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l assertion-audience -d 'The `aud` of signed client assertions [env: VMAUTH_ASSERTION_AUDIENCE; default: token-endpoint]' -r -f -a "token-endpoint\t'The token endpoint the assertion is sent to (Okta, Entra, Keycloak)'
issuer\t'The issuer exactly as its metadata publishes it (Auth0)'"
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l client-secret -d 'Not accepted: secrets on the command line leak into ps and shell history' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l grant -d 'The grant of a CI job: client_credentials (the default; with --federated-token, the platform\'s token is the client assertion), jwt-bearer or token-exchange (the platform\'s token is the grant) [env: VMAUTH_GRANT; default: device_code]' -r -f -a "client_credentials\t'The client credentials grant (RFC 6749)'
jwt-bearer\t'The JWT-bearer authorization grant (RFC 7523)'
token-exchange\t'Token exchange (RFC 8693)'"
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l federated-token -d 'Where the CI platform\'s own OIDC token comes from, fetched fresh for each token request: auto, github, gitlab (or gitlab:VAR), azure-pipelines:CONNECTION, circleci, buildkite, kubernetes (or kubernetes:PATH), gcp, file:PATH, env:VAR or exec:COMMAND (README: CI without secrets) [env: VMAUTH_FEDERATED_TOKEN]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l federated-audience -d 'The audience to ask the CI platform\'s token for (github, gcp, circleci, buildkite); not the `aud` of assertions vmauth signs (--assertion-audience) [env: VMAUTH_FEDERATED_AUDIENCE]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l actor-token -d 'Token exchange: who acts for the subject, from a SOURCE as for --federated-token [env: VMAUTH_ACTOR_TOKEN]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l subject-token-type -d 'Token exchange: the type of the federated token: jwt (the default), id_token or access_token' -r -f -a "jwt\t'`urn:ietf:params:oauth:token-type:jwt`'
id_token\t'`urn:ietf:params:oauth:token-type:id_token`'
access_token\t'`urn:ietf:params:oauth:token-type:access_token`'"
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l param -d 'An extra parameter of the token request a provider requires (e.g. a federation rule id); repeatable. Parameters vmauth sets are refused' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l min-ttl -d 'Refresh when less than this is left (seconds, or with s/m/h suffix; at most half the token\'s lifetime) [env: VMAUTH_MIN_TTL; default: 60]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l token-type -d 'Which token of the login [env: VMAUTH_TOKEN_TYPE; default: access]' -r -f -a "access\t'The access token (for APIs)'
id\t'The OpenID Connect ID token (for APIs that accept only it, e.g. some Entra APIs)'"
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l env -d 'The environment variable that gets the token [default: VMAUTH_TOKEN]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l client-credentials -d 'Use the OAuth client credentials grant instead of the device flow (also VMAUTH_GRANT=client_credentials)'
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l client-secret-stdin -d 'Read the client secret from standard input'
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l force-refresh -d 'Refresh now (for client credentials: request a new token) even when the cached token is still good, e.g. after it was revoked at the identity provider'
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -l exchange -d 'Exchange the login\'s access token (RFC 8693) for one for --audience AUD, kept as its own login and exchanged again when it runs out'
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vmauth -n "__fish_vmauth_using_subcommand exec" -s V -l version -d 'Print version'
complete -c vmauth -n "__fish_vmauth_using_subcommand status" -l store -d 'Where credentials live [env: VMAUTH_STORE; default: auto]' -r -f -a "auto\t'The OS keychain if one answers, else the 0600 file; the choice is remembered'
keyring\t'The OS keychain only (Secret Service, macOS Keychain, Windows Credential Manager)'
file\t'The 0600 JSON file shared with the ValidMind library'
memory\t'Nothing is written; the login lives as long as the process'
helper\t'An external credential helper (VMAUTH_CREDENTIAL_HELPER)'"
complete -c vmauth -n "__fish_vmauth_using_subcommand status" -l profile -d 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand status" -l issuer -d 'Issuer URL of the OpenID Provider (https, or http on loopback) [env: VMAUTH_ISSUER]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand status" -l client-id -d 'OAuth client id registered at the identity provider [env: VMAUTH_CLIENT_ID]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand status" -l audience -d 'API audience for the access token (sent as `audience`, as Auth0 needs) [env: VMAUTH_AUDIENCE]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand status" -l json -d 'Print a JSON document on stdout (format documented in README.md)'
complete -c vmauth -n "__fish_vmauth_using_subcommand status" -l all -d 'Show every stored login, not only the selected one'
complete -c vmauth -n "__fish_vmauth_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vmauth -n "__fish_vmauth_using_subcommand status" -s V -l version -d 'Print version'
complete -c vmauth -n "__fish_vmauth_using_subcommand logout" -l store -d 'Where credentials live [env: VMAUTH_STORE; default: auto]' -r -f -a "auto\t'The OS keychain if one answers, else the 0600 file; the choice is remembered'
keyring\t'The OS keychain only (Secret Service, macOS Keychain, Windows Credential Manager)'
file\t'The 0600 JSON file shared with the ValidMind library'
memory\t'Nothing is written; the login lives as long as the process'
helper\t'An external credential helper (VMAUTH_CREDENTIAL_HELPER)'"
complete -c vmauth -n "__fish_vmauth_using_subcommand logout" -l profile -d 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand logout" -l issuer -d 'Issuer URL of the OpenID Provider (https, or http on loopback) [env: VMAUTH_ISSUER]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand logout" -l client-id -d 'OAuth client id registered at the identity provider [env: VMAUTH_CLIENT_ID]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand logout" -l audience -d 'API audience for the access token (sent as `audience`, as Auth0 needs) [env: VMAUTH_AUDIENCE]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand logout" -l all -d 'Log out of every stored login'
complete -c vmauth -n "__fish_vmauth_using_subcommand logout" -l unregister -d 'Also delete the client registration vmauth made at the login\'s authorization server (RFC 7592), where the server offers it'
complete -c vmauth -n "__fish_vmauth_using_subcommand logout" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vmauth -n "__fish_vmauth_using_subcommand logout" -s V -l version -d 'Print version'
complete -c vmauth -n "__fish_vmauth_using_subcommand profiles" -l store -d 'Where credentials live [env: VMAUTH_STORE; default: auto]' -r -f -a "auto\t'The OS keychain if one answers, else the 0600 file; the choice is remembered'
keyring\t'The OS keychain only (Secret Service, macOS Keychain, Windows Credential Manager)'
file\t'The 0600 JSON file shared with the ValidMind library'
memory\t'Nothing is written; the login lives as long as the process'
helper\t'An external credential helper (VMAUTH_CREDENTIAL_HELPER)'"
complete -c vmauth -n "__fish_vmauth_using_subcommand profiles" -l profile -d 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand profiles" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vmauth -n "__fish_vmauth_using_subcommand profiles" -s V -l version -d 'Print version'
complete -c vmauth -n "__fish_vmauth_using_subcommand completions" -l store -d 'Where credentials live [env: VMAUTH_STORE; default: auto]' -r -f -a "auto\t'The OS keychain if one answers, else the 0600 file; the choice is remembered'
keyring\t'The OS keychain only (Secret Service, macOS Keychain, Windows Credential Manager)'
file\t'The 0600 JSON file shared with the ValidMind library'
memory\t'Nothing is written; the login lives as long as the process'
helper\t'An external credential helper (VMAUTH_CREDENTIAL_HELPER)'"
complete -c vmauth -n "__fish_vmauth_using_subcommand completions" -l profile -d 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vmauth -n "__fish_vmauth_using_subcommand completions" -s V -l version -d 'Print version'
complete -c vmauth -n "__fish_vmauth_using_subcommand git-credential" -l store -d 'Where credentials live [env: VMAUTH_STORE; default: auto]' -r -f -a "auto\t'The OS keychain if one answers, else the 0600 file; the choice is remembered'
keyring\t'The OS keychain only (Secret Service, macOS Keychain, Windows Credential Manager)'
file\t'The 0600 JSON file shared with the ValidMind library'
memory\t'Nothing is written; the login lives as long as the process'
helper\t'An external credential helper (VMAUTH_CREDENTIAL_HELPER)'"
complete -c vmauth -n "__fish_vmauth_using_subcommand git-credential" -l profile -d 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand git-credential" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vmauth -n "__fish_vmauth_using_subcommand git-credential" -s V -l version -d 'Print version'
complete -c vmauth -n "__fish_vmauth_using_subcommand cargo-credential" -l store -d 'Where credentials live [env: VMAUTH_STORE; default: auto]' -r -f -a "auto\t'The OS keychain if one answers, else the 0600 file; the choice is remembered'
keyring\t'The OS keychain only (Secret Service, macOS Keychain, Windows Credential Manager)'
file\t'The 0600 JSON file shared with the ValidMind library'
memory\t'Nothing is written; the login lives as long as the process'
helper\t'An external credential helper (VMAUTH_CREDENTIAL_HELPER)'"
complete -c vmauth -n "__fish_vmauth_using_subcommand cargo-credential" -l profile -d 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]' -r
complete -c vmauth -n "__fish_vmauth_using_subcommand cargo-credential" -l cargo-plugin -d 'Added by cargo when it runs a credential provider'
complete -c vmauth -n "__fish_vmauth_using_subcommand cargo-credential" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vmauth -n "__fish_vmauth_using_subcommand cargo-credential" -s V -l version -d 'Print version'
complete -c vmauth -n "__fish_vmauth_using_subcommand help; and not __fish_seen_subcommand_from login token exec status logout profiles completions git-credential cargo-credential help" -f -a "login" -d 'Log in (device flow or browser) and store the tokens'
complete -c vmauth -n "__fish_vmauth_using_subcommand help; and not __fish_seen_subcommand_from login token exec status logout profiles completions git-credential cargo-credential help" -f -a "token" -d 'Print a valid access token on stdout, refreshing it when needed'
complete -c vmauth -n "__fish_vmauth_using_subcommand help; and not __fish_seen_subcommand_from login token exec status logout profiles completions git-credential cargo-credential help" -f -a "exec" -d 'Run a command with a valid token in its environment'
complete -c vmauth -n "__fish_vmauth_using_subcommand help; and not __fish_seen_subcommand_from login token exec status logout profiles completions git-credential cargo-credential help" -f -a "status" -d 'Show who is logged in, until when, and where the credentials are stored'
complete -c vmauth -n "__fish_vmauth_using_subcommand help; and not __fish_seen_subcommand_from login token exec status logout profiles completions git-credential cargo-credential help" -f -a "logout" -d 'Revoke the tokens at the identity provider and remove the login'
complete -c vmauth -n "__fish_vmauth_using_subcommand help; and not __fish_seen_subcommand_from login token exec status logout profiles completions git-credential cargo-credential help" -f -a "profiles" -d 'List the profiles of config.toml, with their issuer and client and whether a usable login exists for each'
complete -c vmauth -n "__fish_vmauth_using_subcommand help; and not __fish_seen_subcommand_from login token exec status logout profiles completions git-credential cargo-credential help" -f -a "completions" -d 'Print the shell completion script for SHELL'
complete -c vmauth -n "__fish_vmauth_using_subcommand help; and not __fish_seen_subcommand_from login token exec status logout profiles completions git-credential cargo-credential help" -f -a "git-credential" -d 'git\'s credential helper: a fresh token for the hosts a login serves'
complete -c vmauth -n "__fish_vmauth_using_subcommand help; and not __fish_seen_subcommand_from login token exec status logout profiles completions git-credential cargo-credential help" -f -a "cargo-credential" -d 'cargo\'s credential provider: a fresh token for the registries a login serves'
complete -c vmauth -n "__fish_vmauth_using_subcommand help; and not __fish_seen_subcommand_from login token exec status logout profiles completions git-credential cargo-credential help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
