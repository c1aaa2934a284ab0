/*
 * sig.h - signal installation shared by the FastCGI master, its workers and
 * the jobs runner.
 */
#ifndef TESSERA_SIG_H
#define TESSERA_SIG_H

/*
 * Installs fn for sig with SA_RESTART, so that a signal cannot cut short a
 * blocking call in code that takes EINTR for an error (libfcgi, the MariaDB
 * client); poll(), ppoll() and epoll_pwait() still return EINTR, which is
 * how the loops notice a signal at once.
 */
void sig_handle(int sig, void (*fn)(int));

#endif
