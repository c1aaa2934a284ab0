/*
 * mailer.h - outgoing email and SMS: building an RFC 5322 message and
 * handing it to the configured SMTP server through libcurl (or, with no
 * smtp_url, writing it as an .eml file under mail_dir), and sending an SMS
 * through a Twilio-compatible HTTP API (or writing it under sms_dir).
 *
 * The jobs runner calls mail_deliver() and sms_deliver() from the
 * email.send and sms.send jobs; request handlers only validate and enqueue.
 */
#ifndef TESSERA_MAILER_H
#define TESSERA_MAILER_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "arena.h"
#include "datatypes.h"

/* Address and phone rules: email_address_valid, phone_e164_valid. */
/* The address the server sends from (smtp_from, else no-reply@<public_url host>). */
const char *mail_default_from(arena_t *a);
/* A new Message-ID "<id@host>" (host from public_url). */
char *mail_message_id(arena_t *a);

/*
 * Builds the whole message (CRLF lines) from a job payload: {to: [..],
 * from? (default: mail_default_from), from_name?, reply_to?, subject, text, html?, message_id}.  Headers:
 * Date, Message-ID, From, To, Reply-To, Subject (RFC 2047 when not ASCII),
 * MIME-Version; the body is multipart/alternative text/plain + text/html,
 * quoted-printable UTF-8 (text/plain only when there is no html).  With
 * attachments ([{filename, content_type, content: standard base64}]) that
 * body is the first part of a multipart/mixed message and each file a
 * base64 part.  NULL if the payload lacks a member or an attachment is
 * malformed.
 */
char *mail_build(arena_t *a, const cJSON *payload);

/* Delivers a payload (see mail_build): SMTP when smtp_url is configured,
 * else an .eml file in mail_dir named after the Message-ID, whose first
 * header X-Tessera-Tenant names the tenant that sent it (the development
 * mail inbox shows a tenant its own).  0 or -1 with a message in err. */
int mail_deliver(arena_t *a, const char *tenant_id, const cJSON *payload, char *err, size_t errlen);

/* Sends {to, body, from?}: a form POST to sms_url when configured, else a
 * JSON file in sms_dir.  0 or -1 with a message in err. */
int sms_deliver(arena_t *a, const char *id, const cJSON *payload, char *err, size_t errlen);

#endif
