//! Blocking-I/O rules: one family of blocking calls per rule.

mod blocking_database;
mod blocking_dataframe_io;
mod blocking_file_io;
mod blocking_filesystem;
mod blocking_http;
mod blocking_input;
mod blocking_mail_ftp;
mod blocking_sleep;
mod blocking_socket;
mod blocking_subprocess;
mod blocking_sync_primitive;

pub use blocking_database::BlockingDatabase;
pub use blocking_dataframe_io::BlockingDataframeIo;
pub use blocking_file_io::BlockingFileIo;
pub use blocking_filesystem::BlockingFilesystem;
pub use blocking_http::BlockingHttp;
pub use blocking_input::BlockingInput;
pub use blocking_mail_ftp::BlockingMailFtp;
pub use blocking_sleep::BlockingSleep;
pub use blocking_socket::BlockingSocket;
pub use blocking_subprocess::BlockingSubprocess;
pub use blocking_sync_primitive::BlockingSyncPrimitive;

use super::{Rule, RuleMeta};
use crate::blocking::Family;

/// The rules of this group.
pub static RULES: &[&RuleMeta] = &[
    &BlockingSleep::META,
    &BlockingInput::META,
    &BlockingHttp::META,
    &BlockingSubprocess::META,
    &BlockingFileIo::META,
    &BlockingFilesystem::META,
    &BlockingSocket::META,
    &BlockingDatabase::META,
    &BlockingMailFtp::META,
    &BlockingDataframeIo::META,
    &BlockingSyncPrimitive::META,
];

/// The rule that reports calls of one blocking family, and a few words describing the family.
pub(crate) fn for_family(family: Family) -> (&'static RuleMeta, &'static str) {
    match family {
        Family::Sleep => (BlockingSleep::meta(), "sleeps"),
        Family::Input => (BlockingInput::meta(), "waits for input"),
        Family::Http => (BlockingHttp::meta(), "synchronous HTTP"),
        Family::Subprocess => (BlockingSubprocess::meta(), "runs or waits for a process"),
        Family::FileIo => (BlockingFileIo::meta(), "file I/O"),
        Family::Filesystem => (BlockingFilesystem::meta(), "filesystem access"),
        Family::Socket => (BlockingSocket::meta(), "blocking socket I/O"),
        Family::Database => (BlockingDatabase::meta(), "synchronous database call"),
        Family::MailFtp => (BlockingMailFtp::meta(), "mail/FTP client"),
        Family::DataIo => (BlockingDataframeIo::meta(), "data-file I/O"),
        Family::SyncPrimitive => (
            BlockingSyncPrimitive::meta(),
            "waits on a synchronisation primitive",
        ),
        Family::EventLoop => (
            BlockingSyncPrimitive::meta(),
            "runs an event loop on this thread until the coroutine finishes",
        ),
    }
}
