/*
 * test_channels.c - common/channels.c without nchan: which channels an
 * outbox event goes to, which channel names are valid, and the message a
 * subscriber receives.
 */
#include "unit.h"

#include "../../common/channels.h"

START_TEST(channel_names_are_checked_strictly)
{
	static const char *const good[] = {
		"files", "events", "objects:ot_01JD3X", "objects:contacts", "files:docs",
		"files:docs/2026/q1", "files:a.b-c_d",
	};
	static const char *const bad[] = {
		"", "file", "FILES", "objects", "objects:", "objects:a b", "objects:a,b", "objects:a/b",
		"files:", "files:/a", "files:a/", "files:a//b", "files:..", "files:a/../b", "files:./a",
		"files:a,b", "files:a\nb", "events:x", "objects:x\xc3\xa9",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(channel_name_valid(good[i]), "%s should be valid", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!channel_name_valid(bad[i]), "\"%s\" should be invalid", bad[i]);
	ck_assert(!channel_name_valid(NULL));
}
END_TEST

static const struct {
	const char *event, *want;
} routing[] = {
	{ "{\"event\":\"object.created\",\"resource_type\":\"object\",\"data\":{\"object_type_id\":\"ot_1\"}}",
	  "objects:ot_1" },
	{ "{\"event\":\"comment.created\",\"resource_type\":\"comment\",\"data\":{\"object_type_id\":\"ot_2\"}}",
	  "objects:ot_2" },
	{ "{\"event\":\"association.created\",\"resource_type\":\"association\","
	  "\"data\":{\"from_type_id\":\"ot_1\",\"to_type_id\":\"ot_2\"}}", "objects:ot_1 objects:ot_2" },
	{ "{\"event\":\"association.deleted\",\"data\":{\"from_type_id\":\"ot_1\",\"to_type_id\":\"ot_1\"}}",
	  "objects:ot_1" },
	{ "{\"event\":\"file.created\",\"resource_type\":\"file\",\"data\":{\"folder\":\"/docs/x/\"}}",
	  "files files:docs/x" },
	{ "{\"event\":\"file.updated\",\"data\":{\"file\":{\"folder\":\"img\"}}}", "files files:img" },
	{ "{\"event\":\"file.deleted\",\"data\":{\"folder\":\"/\"}}", "files" },
	{ "{\"event\":\"file.deleted\",\"data\":{\"folder\":\"../etc\"}}", "files" },
	{ "{\"event\":\"signup\",\"resource_type\":\"custom_event\",\"data\":{}}", "events" },
	{ "{\"event\":\"custom.clicked\",\"data\":{}}", "events" },
	{ "{\"event\":\"object.created\",\"data\":{\"object_type_id\":\"bad id\"}}", "" },
	{ "{\"event\":\"object.created\",\"data\":{}}", "" },
	{ "{\"event\":\"user.created\",\"resource_type\":\"user\",\"data\":{}}", "" },
	{ "{\"data\":{}}", "" },
};

START_TEST(events_go_to_the_channels_of_what_they_touch)
{
	arena_t *a = arena_new(4096);
	cJSON *e = cJSON_Parse(routing[_i].event);
	ck_assert_ptr_nonnull(e);
	const char *chans[RT_EVENT_CHANNELS_MAX];
	int n = channels_of_event(a, e, chans);
	char got[256] = "";
	for (int i = 0; i < n; i++) {
		strncat(got, i ? " " : "", sizeof(got) - strlen(got) - 1);
		strncat(got, chans[i], sizeof(got) - strlen(got) - 1);
	}
	ck_assert_msg(!strcmp(got, routing[_i].want), "%s: got \"%s\", want \"%s\"", routing[_i].event, got,
		      routing[_i].want);
	cJSON_Delete(e);
	arena_free(a);
}
END_TEST

START_TEST(message_names_its_channel_and_drops_oversized_data)
{
	arena_t *a = arena_new(4096);
	cJSON *e = cJSON_Parse("{\"id\":\"evt_1\",\"event\":\"object.updated\",\"resource_type\":\"object\","
			       "\"resource_id\":\"obj_1\",\"data\":{\"object_type_id\":\"ot_1\"},"
			       "\"created_at\":\"2026-01-02T03:04:05.000Z\"}");
	cJSON *m = cJSON_Parse(channels_message(a, e, "objects:ot_1"));
	ck_assert_str_eq(cJSON_GetObjectItem(m, "id")->valuestring, "evt_1");
	ck_assert_str_eq(cJSON_GetObjectItem(m, "event")->valuestring, "object.updated");
	ck_assert_str_eq(cJSON_GetObjectItem(m, "channel")->valuestring, "objects:ot_1");
	ck_assert_str_eq(cJSON_GetObjectItem(m, "resource_type")->valuestring, "object");
	ck_assert_str_eq(cJSON_GetObjectItem(m, "resource_id")->valuestring, "obj_1");
	ck_assert_str_eq(cJSON_GetObjectItem(m, "timestamp")->valuestring, "2026-01-02T03:04:05.000Z");
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "data"), "object_type_id")->valuestring,
			 "ot_1");
	ck_assert_ptr_null(cJSON_GetObjectItem(m, "data_omitted"));
	cJSON_Delete(m);

	char *big = malloc(RT_MESSAGE_MAX + 10);
	memset(big, 'x', RT_MESSAGE_MAX + 9);
	big[RT_MESSAGE_MAX + 9] = '\0';
	cJSON_AddStringToObject(cJSON_GetObjectItem(e, "data"), "blob", big);
	const char *text = channels_message(a, e, "objects:ot_1");
	ck_assert_uint_lt(strlen(text), 1024);
	m = cJSON_Parse(text);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(m, "data")));
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(m, "data_omitted")));
	ck_assert_str_eq(cJSON_GetObjectItem(m, "resource_id")->valuestring, "obj_1");
	cJSON_Delete(m);
	free(big);
	cJSON_Delete(e);
	arena_free(a);
}
END_TEST

Suite *suite_channels(void)
{
	Suite *s = suite_create("channels");
	TCase *tc = tcase_create("realtime");
	tcase_add_test(tc, channel_names_are_checked_strictly);
	tcase_add_loop_test(tc, events_go_to_the_channels_of_what_they_touch, 0,
			    sizeof(routing) / sizeof(routing[0]));
	tcase_add_test(tc, message_names_its_channel_and_drops_oversized_data);
	suite_add_tcase(s, tc);
	return s;
}
