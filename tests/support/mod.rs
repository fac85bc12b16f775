pub mod fake_auth;
