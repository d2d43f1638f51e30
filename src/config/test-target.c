/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <sys/stat.h>

#include "config/test-config-fixture.h"
#include "config/unit-props.h"

#define SRC "/x/targets/t.json"

static Target *parse_ok(const char *text) {
        _cleanup_(json_decrefp) json_t *doc = test_json(text);
        _cleanup_free_ char *error = NULL;
        Target *t = NULL;

        check_parse_ok(target_from_json(doc, "t", SRC, &t, &error), error);
        check_streq(t->name, "t");
        check_streq(t->file, SRC);
        check(json_is_object(t->config));
        return t;
}

static char *parse_error(const char *text) {
        _cleanup_(json_decrefp) json_t *doc = test_json(text);
        _cleanup_(target_freep) Target *t = NULL;
        char *error = NULL;
        int r;

        r = target_from_json(doc, "t", SRC, &t, &error);
        return check_parse_failed(r, t, error);
}

static void check_error(const char *text, const char *expected) {
        _cleanup_free_ char *error = parse_error(text);
        check_streq(error, expected);
}

static void test_local(void) {
        _cleanup_(target_freep) Target *t = parse_ok("{\"connector\": \"local\"}");
        check_streq(t->connector, "local");
        check_streq(t->description, "this host");
        target_free(TAKE_PTR(t));

        t = parse_ok("{\"connector\": \"local\", \"description\": \"the build box\"}");
        check_streq(t->description, "the build box");

        check_error("{\"connector\": \"local\", \"host\": \"x\"}",
                    SRC ": $.host: unknown key (allowed: connector, description, user, group, unit_properties, lock, windows)");
        check_error("{}", SRC ": $: missing required key 'connector' (or 'group' for a target group)");
        check_error("{\"connector\": \"telnet\"}", SRC ": $.connector: unknown connector 'telnet' (known: local, ssh, azure)");
        check_error("{\"connector\": 1}", SRC ": $.connector: must be a string");
        check_error("[]", SRC ": $: must be a JSON object");
}

/* "user", "group" and "unit_properties" of a local target: names, and settings from the allow-list,
 * each value as systemd would take it (and as StartTransientUnit gets it) */
static void test_local_unit(void) {
        _cleanup_(target_freep) Target *t = NULL;
        const UnitPropInfo *info;

        t = parse_ok("{\"connector\": \"local\", \"user\": \"postgres\"}");
        check_streq(t->description, "this host, as postgres");
        target_free(TAKE_PTR(t));
        t = parse_ok("{\"connector\": \"local\", \"user\": \"_svc-a.b\", \"group\": \"adm\"}");
        check_streq(t->description, "this host, as _svc-a.b:adm");
        target_free(TAKE_PTR(t));
        t = parse_ok("{\"connector\": \"local\", \"group\": \"adm\"}");
        check_streq(t->description, "this host, as root:adm");
        target_free(TAKE_PTR(t));
        t = parse_ok("{\"connector\": \"local\", \"unit_properties\": {\"MemoryMax\": \"1G\", \"CPUQuota\": \"50%\", "
                     "\"TasksMax\": 64, \"ProtectSystem\": \"strict\", \"PrivateTmp\": true, \"Nice\": -5, "
                     "\"ReadWritePaths\": [\"/var/lib/app\", \"/srv\"], \"MemoryHigh\": \"infinity\", "
                     "\"WorkingDirectory\": \"/srv\", \"IOWeight\": 10}}");
        json_t *p = json_object_get(t->config, "unit_properties");
        info = unit_prop_find("MemoryMax");
        check(info && info->kind == UNIT_PROP_BYTES);
        check(unit_prop_u64(info, json_object_get(p, "MemoryMax")) == 1073741824ULL);
        check(unit_prop_u64(info, json_object_get(p, "MemoryHigh")) == UINT64_MAX);
        info = unit_prop_find("CPUQuota");
        check(info && streq(info->bus_name, "CPUQuotaPerSecUSec"));
        check(unit_prop_u64(info, json_object_get(p, "CPUQuota")) == 500000);
        check(unit_prop_u64(unit_prop_find("TasksMax"), json_object_get(p, "TasksMax")) == 64);
        check(!unit_prop_find("ExecStart") && !unit_prop_find("User") && !unit_prop_find("Environment"));

        check_error("{\"connector\": \"local\", \"user\": \"0\"}",
                    SRC ": $.user: must be a user name (a letter or '_', then letters, digits, '_', '-' or '.'; at most 32 bytes)");
        check_error("{\"connector\": \"local\", \"user\": \"a b\"}",
                    SRC ": $.user: must be a user name (a letter or '_', then letters, digits, '_', '-' or '.'; at most 32 bytes)");
        check_error("{\"connector\": \"local\", \"group\": \"-g\"}",
                    SRC ": $.group: must be a group name (a letter or '_', then letters, digits, '_', '-' or '.'; at most 32 bytes)");
        check_error("{\"connector\": \"local\", \"unit_properties\": []}",
                    SRC ": $.unit_properties: must be an object of unit settings");
        check_error("{\"connector\": \"local\", \"unit_properties\": {\"ExecStartPre\": \"/bin/evil\"}}",
                    SRC ": $.unit_properties: 'ExecStartPre' is not one of the unit settings a target may set (allowed: "
                    "MemoryMax, MemoryHigh, MemorySwapMax, TasksMax, CPUQuota, CPUWeight, IOWeight, Nice, ProtectSystem, "
                    "ProtectHome, PrivateTmp, PrivateDevices, PrivateNetwork, NoNewPrivileges, ProtectKernelTunables, "
                    "ProtectKernelModules, ProtectKernelLogs, ProtectControlGroups, ProtectClock, ProtectHostname, "
                    "RestrictSUIDSGID, RestrictRealtime, LockPersonality, MemoryDenyWriteExecute, ReadOnlyPaths, "
                    "ReadWritePaths, InaccessiblePaths, WorkingDirectory)");
        check_error("{\"connector\": \"local\", \"unit_properties\": {\"MemoryMax\": \"1Q\"}}",
                    SRC ": $.unit_properties.MemoryMax: must be a size in bytes: a positive integer, a number with K, M, G "
                    "or T (1024-based, e.g. \"512M\"), or \"infinity\"");
        check_error("{\"connector\": \"local\", \"unit_properties\": {\"MemoryMax\": \"99999999999999999999\"}}",
                    SRC ": $.unit_properties.MemoryMax: must be a size in bytes: a positive integer, a number with K, M, G "
                    "or T (1024-based, e.g. \"512M\"), or \"infinity\"");
        check_error("{\"connector\": \"local\", \"unit_properties\": {\"CPUQuota\": \"0%\"}}",
                    SRC ": $.unit_properties.CPUQuota: must be a percentage from \"1%\" to \"100000%\"");
        check_error("{\"connector\": \"local\", \"unit_properties\": {\"PrivateTmp\": \"yes\"}}",
                    SRC ": $.unit_properties.PrivateTmp: must be true or false");
        check_error("{\"connector\": \"local\", \"unit_properties\": {\"ProtectSystem\": \"total\"}}",
                    SRC ": $.unit_properties.ProtectSystem: must be one of \"no\", \"yes\", \"full\", \"strict\"");
        check_error("{\"connector\": \"local\", \"unit_properties\": {\"Nice\": 20}}",
                    SRC ": $.unit_properties.Nice: must be an integer from -20 to 19");
        check_error("{\"connector\": \"local\", \"unit_properties\": {\"ReadWritePaths\": [\"/srv\", \"-/opt\"]}}",
                    SRC ": $.unit_properties.ReadWritePaths: [1] must be an absolute path without spaces, quotes, '.' or "
                    "'..' components (systemd's '-' and '+' prefixes are not taken)");
        check_error("{\"connector\": \"local\", \"unit_properties\": {\"ReadOnlyPaths\": [\"/srv/../etc\"]}}",
                    SRC ": $.unit_properties.ReadOnlyPaths: [0] must be an absolute path without spaces, quotes, '.' or "
                    "'..' components (systemd's '-' and '+' prefixes are not taken)");
        check_error("{\"connector\": \"local\", \"unit_properties\": {\"WorkingDirectory\": \"~\"}}",
                    SRC ": $.unit_properties.WorkingDirectory: must be an absolute path without spaces, quotes, '.' or "
                    "'..' components");
}

#define SSH_OK "\"connector\": \"ssh\", \"host\": \"10.0.0.5\", \"user\": \"ops\", " \
               "\"known_hosts\": \"/etc/runbookd/known_hosts\""

static void test_ssh(void) {
        _cleanup_(target_freep) Target *t = NULL;

        t = parse_ok("{" SSH_OK ", \"identity\": \"cred:ops-key\"}");
        check_streq(t->connector, "ssh");
        check_streq(t->description, "ops@10.0.0.5:22");
        check_int(json_integer_value(json_object_get(t->config, "port")), 22);   /* default filled in */
        check_streq(json_string_value(json_object_get(t->config, "identity")), "cred:ops-key");
        target_free(TAKE_PTR(t));

        t = parse_ok("{\"connector\": \"ssh\", \"host\": \"::1\", \"port\": 2222, \"user\": \"ops\", "
                     "\"identity\": \"/etc/runbookd/id_ed25519\", \"known_hosts\": \"/k\"}");
        check_streq(t->description, "ops@[::1]:2222");
        target_free(TAKE_PTR(t));

        t = parse_ok("{" SSH_OK ", \"description\": \"web front\"}");
        check_streq(t->description, "web front");

        check_error("{\"connector\": \"ssh\", \"host\": \"h\", \"user\": \"ops\"}",
                    SRC ": $: missing required key 'known_hosts'");
        check_error("{\"connector\": \"ssh\", \"user\": \"ops\", \"known_hosts\": \"/k\"}",
                    SRC ": $: missing required key 'host'");
        check_error("{\"connector\": \"ssh\", \"host\": \"h\", \"known_hosts\": \"/k\"}",
                    SRC ": $: missing required key 'user'");
        check_error("{\"connector\": \"ssh\", \"host\": \"h\", \"user\": \"ops\", \"known_hosts\": \"known_hosts\"}",
                    SRC ": $.known_hosts: must be an absolute path");
        check_error("{" SSH_OK ", \"port\": 0}", SRC ": $.port: must be an integer from 1 to 65535");
        check_error("{" SSH_OK ", \"port\": \"22\"}", SRC ": $.port: must be an integer from 1 to 65535");
        check_error("{" SSH_OK ", \"identity\": \"-----BEGIN OPENSSH PRIVATE KEY-----\"}",
                    SRC ": $.identity: must be an absolute path or a credential reference \"cred:NAME\"");
        check_error("{" SSH_OK ", \"password\": \"hunter2\"}",
                    SRC ": $.password: unknown key (allowed: connector, description, host, port, user, identity, "
                    "known_hosts, lock, windows)");
        check_error("{\"connector\": \"ssh\", \"host\": \"-oProxyCommand=x\", \"user\": \"ops\", \"known_hosts\": \"/k\"}",
                    SRC ": $.host: must not contain spaces or any of /@ or start with '-'");
        check_error("{\"connector\": \"ssh\", \"host\": \"\", \"user\": \"ops\", \"known_hosts\": \"/k\"}",
                    SRC ": $.host: must not be empty");
}

#define AZ "\"connector\": \"azure\", \"subscription\": \"0000-1111\", \"resource_group\": \"rg-app\", " \
           "\"vm\": \"vm-web-01\""

static void test_azure(void) {
        _cleanup_(target_freep) Target *t = NULL;
        _cleanup_free_ char *error = NULL;

        t = parse_ok("{" AZ ", \"tenant\": \"contoso.onmicrosoft.com\", \"client_id\": \"abcd\", "
                     "\"client_secret\": \"cred:azure-sp\"}");
        check_streq(t->connector, "azure");
        check_streq(t->description, "rg-app/vm-web-01");
        check_streq(json_string_value(json_object_get(t->config, "api")), "managed");
        check_streq(json_string_value(json_object_get(t->config, "authority")), "https://login.microsoftonline.com");
        check_streq(json_string_value(json_object_get(t->config, "resource_manager")), "https://management.azure.com");
        check_streq(json_string_value(json_object_get(t->config, "imds")), "http://169.254.169.254");
        check_streq(json_string_value(json_object_get(t->config, "cloud")), "AzureCloud");
        check_streq(json_string_value(json_object_get(t->config, "audience")), "https://management.azure.com/");
        target_free(TAKE_PTR(t));

        /* clouds: presets, each key overridable; the audience does not follow resource_manager */
        t = parse_ok("{" AZ ", \"managed_identity\": true, \"cloud\": \"AzureUSGovernment\"}");
        check_streq(json_string_value(json_object_get(t->config, "authority")), "https://login.microsoftonline.us");
        check_streq(json_string_value(json_object_get(t->config, "resource_manager")),
                    "https://management.usgovcloudapi.net");
        check_streq(json_string_value(json_object_get(t->config, "audience")), "https://management.usgovcloudapi.net/");
        target_free(TAKE_PTR(t));
        t = parse_ok("{" AZ ", \"managed_identity\": true, \"cloud\": \"AzureChinaCloud\", "
                     "\"resource_manager\": \"https://arm-proxy.example\"}");
        check_streq(json_string_value(json_object_get(t->config, "authority")), "https://login.chinacloudapi.cn");
        check_streq(json_string_value(json_object_get(t->config, "resource_manager")), "https://arm-proxy.example");
        check_streq(json_string_value(json_object_get(t->config, "audience")), "https://management.chinacloudapi.cn/");
        target_free(TAKE_PTR(t));
        t = parse_ok("{" AZ ", \"managed_identity\": true, \"resource_manager\": \"https://management.local.azurestack.external\", "
                     "\"audience\": \"https://management.adfs.azurestack.local/0c5d2f4e\"}");
        check_streq(json_string_value(json_object_get(t->config, "cloud")), "AzureCloud");
        check_streq(json_string_value(json_object_get(t->config, "audience")),
                    "https://management.adfs.azurestack.local/0c5d2f4e");
        target_free(TAKE_PTR(t));
        check_error("{" AZ ", \"managed_identity\": true, \"cloud\": \"AzureGermanCloud\"}",
                    SRC ": $.cloud: unknown cloud 'AzureGermanCloud' (known: AzureCloud, AzureUSGovernment, "
                    "AzureChinaCloud; for another, give authority, resource_manager and audience)");
        check_error("{" AZ ", \"managed_identity\": true, \"audience\": \"management.azure.com\"}",
                    SRC ": $.audience: must be an https:// URL");

        t = parse_ok("{" AZ ", \"tenant\": \"t\", \"client_id\": \"c\", \"client_certificate\": \"cred:az-cert\", "
                     "\"api\": \"action\", \"authority\": \"https://127.0.0.1:8443\", "
                     "\"resource_manager\": \"https://127.0.0.1:8443\", \"imds\": \"http://127.0.0.1:8080\", "
                     "\"ca_file\": \"/etc/runbookd/ca.pem\"}");
        check_streq(json_string_value(json_object_get(t->config, "api")), "action");
        check_streq(json_string_value(json_object_get(t->config, "authority")), "https://127.0.0.1:8443");
        target_free(TAKE_PTR(t));

        t = parse_ok("{" AZ ", \"managed_identity\": true}");
        target_free(TAKE_PTR(t));
        t = parse_ok("{" AZ ", \"managed_identity\": true, \"client_id\": \"user-assigned\"}");
        target_free(TAKE_PTR(t));

        /* a literal secret is refused, and the error does not repeat it */
        error = parse_error("{" AZ ", \"tenant\": \"t\", \"client_id\": \"c\", \"client_secret\": \"s3cr3t~value\"}");
        check(strncmp(error, SRC ": $.client_secret: must be a credential reference \"cred:NAME\"",
                      strlen(SRC ": $.client_secret: must be a credential reference \"cred:NAME\"")) == 0);
        check(!strstr(error, "s3cr3t"));
        free(TAKE_PTR(error));
        error = parse_error("{" AZ ", \"managed_identity\": true, \"client_certificate\": \"-----BEGIN KEY s3cr3t\"}");
        check(strstr(error, "$.client_certificate: must be a credential reference"));
        check(!strstr(error, "s3cr3t"));

        check_error("{" AZ ", \"tenant\": \"t\", \"client_id\": \"c\", \"client_secret\": \"cred:a\", "
                    "\"client_certificate\": \"cred:b\"}",
                    SRC ": $.client_certificate: give either \"client_secret\" or \"client_certificate\", not both");
        check_error("{" AZ ", \"tenant\": \"t\", \"client_id\": \"c\"}",
                    SRC ": $: missing \"client_secret\" or \"client_certificate\" (or \"managed_identity\": true)");
        check_error("{" AZ ", \"client_id\": \"c\", \"client_secret\": \"cred:a\"}",
                    SRC ": $: missing required key 'tenant'");
        check_error("{" AZ ", \"managed_identity\": true, \"tenant\": \"t\"}",
                    SRC ": $.tenant: not used with \"managed_identity\": true");
        check_error("{" AZ ", \"managed_identity\": \"yes\"}", SRC ": $.managed_identity: must be true or false");
        check_error("{\"connector\": \"azure\", \"resource_group\": \"rg\", \"vm\": \"v\", \"managed_identity\": true}",
                    SRC ": $: missing required key 'subscription'");
        check_error("{" AZ ", \"managed_identity\": true, \"api\": \"rest\"}",
                    SRC ": $.api: must be \"managed\" or \"action\"");
        check_error("{" AZ ", \"managed_identity\": true, \"authority\": \"http://login.example\"}",
                    SRC ": $.authority: must be an https:// URL");
        check_error("{" AZ ", \"managed_identity\": true, \"imds\": \"ftp://x\"}",
                    SRC ": $.imds: must be an http:// or https:// URL");
        check_error("{" AZ ", \"managed_identity\": true, \"ca_file\": \"ca.pem\"}",
                    SRC ": $.ca_file: must be an absolute path");
        check_error("{\"connector\": \"azure\", \"subscription\": \"s\", \"resource_group\": \"rg/../x\", \"vm\": \"v\", "
                    "\"managed_identity\": true}",
                    SRC ": $.resource_group: must not contain spaces or any of /?#%\\\"<> or start with '-'");
        check_error("{" AZ ", \"managed_identity\": true, \"host\": \"h\"}",
                    SRC ": $.host: unknown key (allowed: connector, description, subscription, resource_group, vm, "
                    "tenant, client_id, client_secret, client_certificate, managed_identity, api, cloud, authority, "
                    "resource_manager, audience, imds, ca_file, lock, windows)");
}

static void test_lock(void) {
        _cleanup_(target_freep) Target *t = NULL;
        _cleanup_free_ char *error = NULL;
        json_t *doc = json_loads("{\"connector\": \"local\", \"lock\": true}", 0, NULL);

        check(target_from_json(doc, "db1", SRC, &t, &error) == 0);
        check(target_is_locked(t));
        json_decref(doc);
        check_error("{\"connector\": \"local\", \"lock\": \"yes\"}",
                    SRC ": $.lock: must be true or false (true: one session at a time runs steps on this target)");
        check_error("{\"group\": [\"a\"], \"lock\": 1}",
                    SRC ": $.lock: must be true or false (true: one session at a time runs steps on this target)");
        check(!target_is_locked(NULL));
        check_error("{\"connector\": \"local\", \"windows\": [{\"from\": \"22:00\", \"to\": \"6:00\"}]}",
                    SRC ": $.windows[0].to: must be a time of day, \"HH:MM\" or \"HH:MM:SS\" (00:00 to 24:00)");
}

static void test_group(void) {
        _cleanup_(target_freep) Target *t = NULL;

        t = parse_ok("{\"group\": [\"web-01\", \"web-02\"], \"max_errors\": \"10%\"}");
        check_streq(t->connector, "group");
        check_streq(t->description, "group of 2: web-01, web-02");
        check_int(json_integer_value(json_object_get(t->config, "max_concurrency")), 10);
        check_streq(json_string_value(json_object_get(t->config, "max_errors")), "10%");
        target_free(TAKE_PTR(t));

        t = parse_ok("{\"group\": [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\"], \"max_concurrency\": 2, "
                     "\"max_errors\": 3}");
        check_streq(t->description, "group of 7: a, b, c, d, e, …");
        check_int(json_integer_value(json_object_get(t->config, "max_concurrency")), 2);
        target_free(TAKE_PTR(t));

        t = parse_ok("{\"group\": [\"local\"], \"max_errors\": \"100%\", \"description\": \"all\"}");
        check_streq(t->description, "all");
        target_free(TAKE_PTR(t));
        t = parse_ok("{\"group\": [\"a\"], \"max_errors\": \"0%\"}");

        check_error("{\"group\": []}", SRC ": $.group: must be a non-empty array of target names");
        check_error("{\"group\": \"a\"}", SRC ": $.group: must be a non-empty array of target names");
        check_error("{\"group\": [\"a\", \"b\", \"a\"]}", SRC ": $.group[2]: 'a' is listed twice");
        check_error("{\"group\": [\"a\", \"b c\"]}", SRC ": $.group[1]: must be a target name");
        check_error("{\"group\": [\"a\", 3]}", SRC ": $.group[1]: must be a target name");
        check_error("{\"group\": [\"a\"], \"max_concurrency\": 0}", SRC ": $.max_concurrency: must be a positive integer");
        static const char *const bad_errors[] = { "\"101%\"", "\"10\"", "\"x%\"", "\"%\"", "\"-1%\"", "\"10%%\"",
                                                  "\" 10%\"", "-1", "1.5", "true" };
        for (size_t i = 0; i < ELEMENTSOF(bad_errors); i++) {
                _cleanup_free_ char *text = NULL;

                check(asprintf_safe(&text, "{\"group\": [\"a\"], \"max_errors\": %s}", bad_errors[i]) == 0);
                check_error(text, SRC ": $.max_errors: must be an integer >= 0 or a percentage \"N%\" from 0 to 100");
        }
        /* with a "connector" it is a target of that connector, which has no "group" (a local one's is a name) */
        check_error("{\"group\": [\"a\"], \"connector\": \"ssh\"}",
                    SRC ": $.group: unknown key (allowed: connector, description, host, port, user, identity, known_hosts, lock, windows)");
        check_error("{\"group\": [\"a\"], \"connector\": \"local\"}", SRC ": $.group: must be a string");
}

static void test_catalog(void) {
        _cleanup_free_ char *vendor = make_tmpdir(), *admin = make_tmpdir();
        _cleanup_(target_catalog_freep) TargetCatalog *c = NULL;
        const TargetBroken *b;
        const Target *t;

        put_file(vendor, "targets/web-01.json", "{\"connector\": \"ssh\", \"host\": \"10.0.0.1\", \"user\": \"v\", "
                                                "\"known_hosts\": \"/k\"}");
        put_file(admin, "targets/web-01.json", "{\"connector\": \"ssh\", \"host\": \"10.0.0.9\", \"user\": \"ops\", "
                                               "\"known_hosts\": \"/k\"}");
        put_file(vendor, "targets/db.json", "{\"connector\": \"local\", \"description\": \"vendor db\"}");
        put_file(admin, "targets/db.json", "{\"connector\": \"ssh\"}");
        put_file(vendor, "targets/all.json", "{\"group\": [\"web-01\", \"db\"]}");
        put_file(admin, "targets/local.json", "{\"connector\": \"local\"}");
        put_file(admin, "targets/.swap.json", "garbage");
        put_file(admin, "targets/README", "garbage");
        put_file(admin, "targets/zz.json", "{\"connector\": \"azure\", \"subscription\": \"s\", "
                                           "\"resource_group\": \"rg\", \"vm\": \"v\", \"tenant\": \"t\", "
                                           "\"client_id\": \"c\", \"client_secret\": \"hunter2\"}");

        check_int(target_catalog_load(vendor, admin, &c), 0);
        check_int(c->n_targets, 3);
        check_streq(c->targets[0]->name, "all");
        check_streq(c->targets[1]->name, "local");
        check_streq(c->targets[2]->name, "web-01");

        t = target_catalog_find(c, "web-01");
        check(t);
        check_streq(t->description, "ops@10.0.0.9:22");
        check(strncmp(t->file, admin, strlen(admin)) == 0);
        t = target_catalog_find(c, "local");
        check(t);
        check_streq(t->connector, "local");
        check_streq(t->description, "this host");
        check(!t->file);
        check_streq(json_string_value(json_object_get(t->config, "connector")), "local");
        check_streq(target_catalog_find(c, "all")->description, "group of 2: web-01, db");
        check(!target_catalog_find(c, "db"));
        check(!target_catalog_find(c, "zz"));
        check(!target_catalog_find(c, ".swap"));

        check_int(c->n_broken, 3);
        check_streq(c->broken[0].name, "db");
        check_streq(c->broken[1].name, "local");
        check_streq(c->broken[2].name, "zz");
        b = target_catalog_find_broken(c, "local");
        check(b);
        fprintf(stderr, "   %s\n", b->error);
        check(strstr(b->error, "'local' is built in"));
        b = target_catalog_find_broken(c, "db");
        check(strncmp(b->file, admin, strlen(admin)) == 0);
        check(strstr(b->error, ": $: missing required key 'host'"));
        b = target_catalog_find_broken(c, "zz");
        check(strstr(b->error, "$.client_secret: must be a credential reference"));
        check(!strstr(b->error, "hunter2"));
        target_catalog_free(TAKE_PTR(c));

        /* nothing configured: just "local" */
        check_int(target_catalog_load(NULL, NULL, &c), 0);
        check_int(c->n_targets, 1);
        check_streq(c->targets[0]->name, "local");
        check_int(c->n_broken, 0);
        check(!target_catalog_find(c, "web-01"));
        check(!target_catalog_find_broken(c, "local"));
        target_catalog_free(TAKE_PTR(c));

        /* "local" sorts in between other names */
        check_int(target_catalog_load(vendor, NULL, &c), 0);
        check_int(c->n_targets, 4);
        check_streq(c->targets[0]->name, "all");
        check_streq(c->targets[1]->name, "db");
        check_streq(c->targets[2]->name, "local");
        check_streq(c->targets[3]->name, "web-01");
        check_streq(target_catalog_find(c, "db")->description, "vendor db");

        rm_rf(vendor);
        rm_rf(admin);
}

static void test_json_helpers(void) {
        _cleanup_free_ char *a = config_path_key("$", "abc"), *b = config_path_key("$.x", "a\"b\\c\n"),
                            *c = config_path_key("$", "9lives");
        check_streq(a, "$.abc");
        check_streq(b, "$.x[\"a\\\"b\\\\c\\u000a\"]");
        check_streq(c, "$[\"9lives\"]");

        _cleanup_(json_decrefp) json_t *s = json_stringn("a\0b", 3), *ok = json_string("ab");
        check(!config_json_string(s));
        check_streq(config_json_string(ok), "ab");
        check(!config_json_string(NULL));
}

/* Which credentials a document uses: "cred:NAME" anywhere in it, or a path into
 * $CREDENTIALS_DIRECTORY (runs of slashes as one); nothing else. */
static void test_uses_credential(void) {
        _cleanup_(json_decrefp) json_t *d = json_pack("{s:s, s:[{s:{s:s}}], s:s, s:s, s:s}",
                                                        "identity", "cred:ops-key",
                                                        "notify", "headers", "Authorization", "cred:hook",
                                                        "key", "/run/credentials//svc/file-key",
                                                        "other", "/run/credentials/svcX/near",
                                                        "text", "see cred:ops-key2 and /run/credentials/svc");

        check(setenv("CREDENTIALS_DIRECTORY", "/run/credentials/svc/", 1) == 0);
        check(config_json_uses_credential(d, "ops-key"));
        check(config_json_uses_credential(d, "hook"));
        check(config_json_uses_credential(d, "file-key"));
        check(!config_json_uses_credential(d, "ops"));
        check(!config_json_uses_credential(d, "near"));
        check(!config_json_uses_credential(d, "svc"));
        check(!config_json_uses_credential(d, "ops-key2"));   /* not the whole string */
        check(!config_json_uses_credential(d, "cred:hook"));
        check(unsetenv("CREDENTIALS_DIRECTORY") == 0);
        check(!config_json_uses_credential(d, "file-key"));   /* no such directory, no such path */
        check(config_json_uses_credential(d, "ops-key"));
}

/* The last reference wipes every string (nested too) before it goes; an earlier one does not. */
static void test_wipe_decref(void) {
        json_t *o = json_pack("{s:s, s:{s:[s]}}", "a", "hunter2", "b", "c", "secret-in-array");
        json_t *a = json_incref(json_object_get(o, "a"));
        json_t *c = json_incref(json_array_get(json_object_get(json_object_get(o, "b"), "c"), 0));

        json_incref(o);
        config_json_wipe_decref(o);                   /* not the last: nothing wiped */
        check_streq(json_string_value(a), "hunter2");
        config_json_wipe_decref(o);                   /* the last: wiped, then freed */
        check_int(json_string_length(a), 7);
        check(memcmp(json_string_value(a), "\0\0\0\0\0\0\0", 7) == 0);
        check(json_string_value(c)[0] == 0 && json_string_value(c)[5] == 0);
        json_decref(a);
        json_decref(c);
        config_json_wipe_decref(NULL);
}

int main(void) {
        umask(022);   /* the files written here must pass the ownership and mode checks */
        TEST(local);
        TEST(local_unit);
        TEST(ssh);
        TEST(azure);
        TEST(group);
        TEST(lock);
        TEST(catalog);
        TEST(json_helpers);
        TEST(uses_credential);
        TEST(wipe_decref);
        return 0;
}
