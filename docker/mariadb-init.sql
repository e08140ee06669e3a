-- Run once by the mariadb image when it initialises an empty data volume
-- (/docker-entrypoint-initdb.d). The user Ferry reads the binlog with: the same name, password and
-- privileges as scripts/services.sh creates. Kept out of the binlog.
SET SESSION sql_log_bin = 0;
CREATE USER IF NOT EXISTS 'ferry'@'%' IDENTIFIED BY 'ferry';
GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO 'ferry'@'%';
