/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where a {{name}} may stand in a step's command (template_check_placements()). */
#include <stdio.h>
#include <string.h>

#include "config/template.h"
#include "shared/tests.h"

static int check_one(const char *tmpl, size_t *ret_offset, char *problem) {
        int r = template_check_placements(tmpl, ret_offset, problem);
        if (r < 0)
                fprintf(stderr, "error %d for: %s\n", r, tmpl);
        return r;
}

static void test_accepted(void) {
        unsigned failures = 0;
        static const char *const ok[] = {
                "echo {{v}}",
                "logger -t rb {{v}}",
                "systemctl restart {{unit}}.service",
                "cp --target-directory={{dir}} /etc/x {{file}}",
                "ls -l -- {{path}} > {{out}} 2>&1",
                "echo {{a}}{{b}} x{{a}}y",
                "X={{v}} printenv X",
                "A={{v}}; echo \"$A\"",
                "cd {{dir}} && tar czf {{archive}} .",
                "if test -e {{f}}; then rm -f -- {{f}}; fi",
                "for h in {{a}} {{b}}; do ping -c1 \"$h\"; done",
                "case {{mode}} in\n  (fast|{{other}}) echo f;;\n  slow) echo s;;\nesac",
                "while read -r l; do echo \"$l\"; done < {{file}}",
                "grep -e {{pattern}} {{file}} | sort | uniq -c",
                "sh -c 'echo \"$1\"' sh {{v}}",
                "bash -ec 'echo \"$1\"' x {{v}}",
                "sh /usr/lib/x/script.sh {{arg}}",
                "awk -F : -v want={{user}} '$1 == want' /etc/passwd",
                "awk '{print $1}' {{file}}",
                "sed -n 's/a/b/p' {{file}}",
                "sed -e 's/a/b/' -i {{file}}",
                "python3 -c 'import sys; print(sys.argv[1])' {{v}}",
                "perl -e 'print $ARGV[0]' {{v}}",
                "jq -r --arg name {{n}} '.[$name]' {{file}}",
                "sudo -u {{user}} systemctl status {{unit}}",
                "timeout 10 curl -fsS -- {{url}}",
                "env -i LANG=C.UTF-8 NAME={{v}} printenv NAME",
                "nice -n 5 ionice -c3 tar cf {{out}} /srv",
                "xargs -0 rm -f -- < {{list}}",
                "ssh {{host}} uptime",
                "ssh -p 2222 -l admin {{host}} uptime",
                "su {{user}} -c 'id'",
                "find {{dir}} -name {{pattern}} -exec rm -f {} +",
                "xargs -I{} -a {{list}} cp -- {} /backup",
                "ls /var/log/*.log {{extra}}",
                "[ -n {{v}} ]",
                "find {{dir}} -mtime +7 -exec ls -l {} \\; -print",
                "test -f {{f}} && [ {{n}} -gt 0 ]",
                "printf '%s\\n' {{v}}",
                "export NAME={{v}}; printenv NAME",
                "local_x() { echo \"$1\"; }; local_x {{v}}",
                "{ echo {{v}}; echo done; } > {{out}}",
                "( cd /tmp && ls {{glob}} )",
                "echo {{v}} | tee {{file}} | wc -c",
                "cat <<'EOF'\nliteral text\nEOF\necho {{v}}",
                "echo a # comment\necho {{v}}",
                "kubectl -n {{ns}} get pods {{pod}}",
                "docker logs --tail 100 {{container}}",
                "echo $((1 + 2)) {{v}}",
                "echo \"$(date)\" {{v}}",
                "cat <<< {{v}}",
                "grep -c x <<<{{v}}",
                "bash -s <<< 'echo fixed' -- {{v}}",
                "[[ -n $x ]] && echo {{v}}",
                "sh -s -- {{a}} < /usr/lib/x/script.sh",
                "no references at all",
        };
        for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
                char problem[TEMPLATE_PROBLEM_MAX];
                size_t off = 0;
                int r = check_one(ok[i], &off, problem);
                if (r != 0) {
                        fprintf(stderr, "refused (%s at %zu): %s\n", problem, off, ok[i]);
                        failures++;
                }
        }
        check_int(failures, 0);
}

static void test_refused(void) {
        unsigned failures = 0;
        static const struct {
                const char *tmpl;
                const char *why;   /* a substring of the problem */
        } bad[] = {
                { "logger -t rb \"{{v}}\"", "\"…\"" },
                /* a here-string is the standard input of a program that runs it (found by fuzz-template,
                 * seed 2: 'sed -e p && bash -s -- <<<{{v}} …') */
                { "bash -s <<<{{v}}", "here-string 'bash' reads the program" },
                { "sed -e p && bash -s -- <<<{{v}} 'quoted word' | xargs sh -cenv X=1", "here-string" },
                { "sh <<< {{v}}", "here-string 'sh'" },
                { "python3 - <<< {{v}}", "here-string 'python3'" },
                { "echo '{{v}}'", "'…'" },
                { "echo $'{{v}}'", "$'…'" },
                { "echo `echo {{v}}`", "`…`" },
                { "echo $(echo {{v}})", "$(…)" },
                { "echo \"$(echo {{v}})\"", "\"…\"" },
                { "echo ${x:-{{v}}}", "${…}" },
                { "echo $(({{v}} + 1))", "arithmetic" },
                { "(( {{v}} > 1 ))", "arithmetic" },
                { "echo $[{{v}}]", "arithmetic" },
                { "[[ {{v}} == x ]]", "[[" },
                { "[[ x < {{v}} ]]", "[[" },
                { "cat <(echo {{v}})", "process substitution" },
                { "echo x # {{v}}", "comment" },
                { "cat <<EOF\n{{v}}\nEOF", "here-document" },
                { "cat <<-EOF\n\t{{v}}\n\tEOF", "here-document" },
                { "cat <<{{v}}\nx\n", "delimiter" },
                { "echo ${{v}}", "'$'" },
                { "echo \\{{v}}", "backslash" },
                { "{{cmd}} --version", "name of the program" },
                { "/usr/bin/{{cmd}}", "name of the program" },
                { "sudo {{cmd}}", "name of the program" },
                { "sudo -u root -- {{cmd}} x", "name of the program" },
                { "timeout 5 {{cmd}}", "name of the program" },
                { "env A=1 {{cmd}}", "name of the program" },
                { "xargs {{cmd}} < list", "name of the program" },
                { "{{name}}=1 true", "name of the program" },
                { "a[{{i}}]=1 true", "name of a variable" },
                { "PATH={{v}} ls", "PATH" },
                { "LD_PRELOAD={{v}} ls", "LD_PRELOAD" },
                { "env PATH={{v}} ls", "PATH" },
                { "eval {{v}}", "'eval'" },
                { "eval echo {{v}}", "'eval'" },
                { ". {{file}}", "'.'" },
                { "source {{file}}", "'source'" },
                { "trap {{v}} EXIT", "'trap'" },
                { "read -r {{var}}", "'read'" },
                { "unset {{var}}", "'unset'" },
                { "let {{v}}", "'let'" },
                { "declare -n r={{v}}", "'declare'" },
                { "export {{v}}", "'export'" },
                { "export a[{{v}}]=1", "'export'" },
                { "test -v {{var}}", "-v" },
                { "[ -v {{var}} ]", "-v" },
                { "printf -v {{var}} %s x", "-v" },
                { "sh -c {{v}}", "program 'sh' runs" },
                { "bash -ec {{v}} x", "program 'bash' runs" },
                { "sh {{script}}", "program 'sh' runs" },
                { "sh -o errexit -c {{v}}", "program 'sh' runs" },
                { "sudo sh -c {{v}}", "program 'sh' runs" },
                { "sudo -u {{u}} bash -c {{v}}", "program 'bash' runs" },
                { "timeout 5 sh -c {{v}}", "program 'sh' runs" },
                { "xargs sh -c {{v}}", "program 'sh' runs" },
                { "/bin/sh -c {{v}}", "program 'sh' runs" },
                { "awk {{prog}} file", "program 'awk' runs" },
                { "awk -F : {{prog}} file", "program 'awk' runs" },
                { "awk -f {{file}} data", "'awk -f'" },
                { "sed {{script}} file", "program 'sed' runs" },
                { "sed -n -e {{script}} file", "'sed -e'" },
                { "sed 's/a/b/' -e {{script}} file", "'sed -e'" },
                { "sed --expression={{script}} file", "--expression" },
                { "perl -e {{code}}", "'perl -e'" },
                { "perl -ne {{code}}", "'perl -e'" },
                { "python3 -c {{code}}", "'python3 -c'" },
                { "python3.11 -m {{module}}", "'python3.11 -m'" },
                { "python3 {{script}}", "program 'python3' runs" },
                { "jq {{filter}} file", "program 'jq' runs" },
                { "ssh host {{cmd}}", "command line 'ssh'" },
                { "ssh host uptime {{arg}}", "command line 'ssh'" },
                { "ssh host ls -l {{arg}}", "command line 'ssh'" },
                { "ssh -o {{opt}} host uptime", "'ssh -o'" },
                { "su -c {{v}} root", "'su -c'" },
                { "su root -c {{v}}", "'su -c'" },
                { "sudo -s {{v}}", "command line 'sudo'" },
                { "sudo -i echo {{v}}", "command line 'sudo'" },
                { "watch -n 5 {{cmd}}", "command line 'watch'" },
                { "find . -exec rm {{v}} \\;", "'find -exec'" },
                { "find . -execdir sh -c x {} \\; -exec echo {{v}} +", "'find -exec'" },
                { "docker exec c ls {{v}}", "container" },
                { "kubectl exec pod -- ls {{v}}", "container" },
                { "echo {{v}} | sh", "'sh', which reads" },
                { "echo {{v}} | sudo bash", "'bash', which reads" },
                { "echo {{v}} | ssh host", "'ssh', which reads" },
                { "printf %s {{v}} | python3 -", "'python3', which reads" },
                { "{ echo {{v}}; } | sh", "'sh', which reads" },
                { "( echo {{v}} ) | bash -s", "'bash', which reads" },
                { "while :; do echo {{v}}; done | sh", "'sh', which reads" },
                { "echo {{v}} | \"$SHELL\"", "reads" },
                { "sh < {{file}}", "reads the program" },
                { "echo {{v}} | . /dev/stdin", "'.'" },
                { "\"$TOOL\" {{v}}", "not written out" },
                { "{sh,-c} {{v}}", "not written out" },
                { "nice {sh,-c} {{v}}", "expand" },
                { "/bin/s? -c {{v}}", "not written out" },
                { "python3 {-c,} {{v}}", "expand" },
                { "sh * {{v}}", "expand" },
                { "alias x=eval\nx {{v}}", "alias" },
                { "xargs -a {{file}} sh -c", "reads the program" },
                { "xargs --arg-file={{file}} sh -c", "reads the program" },
                { "[ -R {{var}} ]", "-v" },
                { "for {{v}} in a; do :; done", "loop variable" },
                { "function {{v}} { :; }", "function" },
                { "sh -x{{v}}", "glued" },
                { "sh --rcfile={{f}} -c x", "--rcfile" },
                { "unshare -m {{v}}", "'unshare'" },
                { "ssh -Z x host {{v}}", "does not know" },
                { "echo \"unterminated {{v}}", "\"…\"" },
                { "echo {{v}} \"unterminated", "does not parse" },
                { "echo {{v}} $(unterminated", "does not parse" },
                { "cat <<EOF\nno end\necho {{v}}", "here-document" },
                { "echo ${x:-'a'} {{v}}", "certainty" },
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                char problem[TEMPLATE_PROBLEM_MAX];
                size_t off = 0;
                int r = check_one(bad[i].tmpl, &off, problem);
                if (r != 1) {
                        fprintf(stderr, "accepted: %s\n", bad[i].tmpl);
                        failures++;
                } else if (!strstr(problem, bad[i].why) || strncmp(bad[i].tmpl + off, "{{", 2) != 0) {
                        fprintf(stderr, "problem for '%s' is '%s' at %zu, expected it to mention '%s'\n", bad[i].tmpl,
                                problem, off, bad[i].why);
                        failures++;
                }
        }
        check_int(failures, 0);
}

static void test_offset(void) {
        char problem[TEMPLATE_PROBLEM_MAX];
        size_t off = 0;

        check_int(template_check_placements("echo {{a}} \"{{b}}\"", &off, problem), 1);
        check_int((int) off, 12);
        check_int(template_check_placements("echo {{a}} | sh", &off, problem), 1);
        check_int((int) off, 5);
}

int main(void) {
        TEST(accepted);
        TEST(refused);
        TEST(offset);
        return 0;
}
