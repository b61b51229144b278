-- authdb: the users microgo logs in (not the account it reads them with: see the end).
-- Run once on an empty server: by the MariaDB image from
-- /docker-entrypoint-initdb.d, and by the local stack (tools/stack.py) on first start.
-- Passwords are argon2id strings made by tools/microgo-passwd, never plain text.

-- This file is UTF-8 ('Mập'), whatever the client's locale says.
SET NAMES utf8mb4;

CREATE DATABASE IF NOT EXISTS authdb
    CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- utf8mb4_nopad_bin: user names compare byte for byte, so 'rex', 'Rex '
-- and 'Map' do not log in as 'Rex' or 'Mập'.
CREATE TABLE IF NOT EXISTS authdb.users (
    id       INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    username VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin
             NOT NULL UNIQUE,
    pwd      VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The seed users: Mập / 'Mập khùng' and Rex / 'Rex siu super'. Their passwords
-- are public (README, the tests): delete both before a deployment serves
-- anyone (README, "Deployment: docker compose").
INSERT IGNORE INTO authdb.users (username, pwd) VALUES
    ('Mập', '$argon2id$v=19$m=19456,t=2,p=1$0LllmlrrzrAQ5iK/c7vMIQ$wVFbmNjQVqX1w6ajebOpcvVfCkxoqoDXMIfrrpGAW5Y'),
    ('Rex', '$argon2id$v=19$m=19456,t=2,p=1$xmKy57RbI5AVPjRJR7Sx0g$G24h97SNF/R1Dh/9wEvpFmoER1pglolZQcxXLV1wSm8');

-- No account for the service here: a password does not belong in the
-- repository. conf/mariadb/access-user.sh (docker compose) and
-- tools/stack.py (the local stack) each create it, with SELECT on
-- authdb.users only and a password generated on the first start.
