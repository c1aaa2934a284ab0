/*
 * audit.h - the audit trail's endpoint and retention; req_audit() itself
 * is in fcgi/journal.h, with the outbox.
 */
#ifndef TESSERA_AUDIT_H
#define TESSERA_AUDIT_H

#include "../fcgi/journal.h"

#endif
