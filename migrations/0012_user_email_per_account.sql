-- An email address is unique within an account only: the same person may be
-- a user of several accounts, each with its own password, and sign-in picks
-- the account whose password matches. A unique index across accounts would
-- tell one account's admin that an address is in use in another.
DROP INDEX IF EXISTS users_login;
CREATE INDEX users_login_email ON users (lower(email)) WHERE password_hash <> '';
