//! A second MariaDB of the test's own, replicating (by GTID) from the services' MariaDB from
//! the moment it starts: what a source moved to a replica looks like.

use super::{free_port, unique, wait_for, Services, Sql};
use mysql_async::prelude::Queryable;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Replica {
    child: Child,
    dir: PathBuf,
    pub port: u16,
    /// The services as seen through the replica (its port, the same users).
    pub services: Services,
}

impl Replica {
    /// Initialises a datadir, starts `mariadbd` (server id 2, binlog with replica updates, the
    /// same ROW settings), creates the services' users there and replicates from the primary's
    /// current GTID position.
    pub fn start(primary: &Services) -> Replica {
        let dir = std::env::temp_dir().join(unique("ferry-replica"));
        let data = dir.join("data");
        std::fs::create_dir_all(&data).unwrap();
        let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
        let user = user.trim();
        let install = Command::new("mariadb-install-db")
            .args(["--no-defaults", &format!("--user={user}"), "--auth-root-authentication-method=normal"])
            .arg(format!("--datadir={}", data.display()))
            .output()
            .expect("mariadb-install-db (scripts/services.sh installs it)");
        assert!(install.status.success(), "mariadb-install-db: {}", String::from_utf8_lossy(&install.stderr));
        let port = free_port();
        let socket = dir.join("s.sock");
        let log = std::fs::File::create(dir.join("mariadb.log")).unwrap();
        let child = Command::new("mariadbd")
            .args(["--no-defaults", &format!("--user={user}"), "--bind-address=127.0.0.1"])
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--port={port}"))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--log-bin={}", data.join("bin").display()))
            .args([
                "--binlog-format=ROW",
                "--binlog-row-image=FULL",
                "--binlog-row-metadata=FULL",
                "--server-id=2",
                "--log-slave-updates",
                "--skip-name-resolve",
                "--skip-slave-start",
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("mariadbd");
        let mut replica =
            Replica { child, dir, port, services: Services { mysql_port: port, ..primary.clone() } };

        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let root =
            mysql_async::OptsBuilder::default().socket(Some(socket.display().to_string())).user(Some("root"));
        let mut c = wait_for("the replica to accept connections", Duration::from_secs(60), || {
            assert!(replica.child.try_wait().unwrap().is_none(), "mariadbd exited; see {}", replica.log());
            rt.block_on(mysql_async::Conn::new(root.clone())).ok()
        });
        let mut primary_sql = Sql::connect(primary);
        let gtid: String = primary_sql
            .rows("SELECT @@GLOBAL.gtid_binlog_pos")
            .first()
            .and_then(|r| r.get(0))
            .unwrap_or_default();
        let setup = format!(
            "SET SESSION sql_log_bin = 0;
             CREATE USER '{admin}'@'%' IDENTIFIED BY '{admin_pw}';
             GRANT ALL PRIVILEGES ON *.* TO '{admin}'@'%' WITH GRANT OPTION;
             CREATE USER '{user}'@'%' IDENTIFIED BY '{pw}';
             GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO '{user}'@'%';
             SET GLOBAL gtid_slave_pos = '{gtid}';
             CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = {port}, MASTER_USER = '{user}',
                 MASTER_PASSWORD = '{pw}', MASTER_USE_GTID = slave_pos;
             START SLAVE;",
            admin = primary.admin_user,
            admin_pw = primary.admin_password,
            user = primary.user,
            pw = primary.password,
            port = primary.mysql_port,
        );
        rt.block_on(c.query_drop(setup)).unwrap_or_else(|e| panic!("setting up the replica: {e}"));
        rt.block_on(c.disconnect()).ok();
        replica
    }

    /// Waits until the replica has applied everything the primary has written so far.
    pub fn catch_up(&self, primary: &mut Sql) {
        let gtid: String = primary
            .rows("SELECT @@GLOBAL.gtid_binlog_pos")
            .first()
            .and_then(|r| r.get(0))
            .unwrap_or_default();
        let mut sql = Sql::connect(&self.services);
        let rows = sql.rows(&format!("SELECT MASTER_GTID_WAIT('{gtid}', 30)"));
        let waited: Option<i64> = rows.first().and_then(|r| r.get(0));
        assert_eq!(waited, Some(0), "the replica did not reach {gtid} in 30 s; see {}", self.log());
    }

    pub fn log(&self) -> String {
        self.dir.join("mariadb.log").display().to_string()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
