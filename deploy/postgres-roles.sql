-- Roles for badge-registry on PostgreSQL. Run as a superuser; change the passwords.
-- The owner creates the tables and the append-only guards; the service runs as registry_app.
CREATE ROLE registry_owner LOGIN PASSWORD 'change-me-owner';
CREATE ROLE registry_app LOGIN PASSWORD 'change-me-app';
CREATE DATABASE registry OWNER registry_owner;
REVOKE ALL ON DATABASE registry FROM PUBLIC;
GRANT CONNECT ON DATABASE registry TO registry_app;
