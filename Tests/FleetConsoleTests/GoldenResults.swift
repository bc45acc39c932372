// Golden screens of UpdateAgent/UpdatePackage commands (regenerate as Golden.swift says).
enum GoldenResults {
    static let commandsMixed80 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online
         <enter> Open  <l> Logs  <r> Run  <c> Cancel  <tab> Nodes  <?> Help
        ─────────────────────────── Commands[5] newest first ───────────────────────────
        ID       TYPE       TGTS STATES           BY         AGE COMMAND
        00000006 UpdateAge…    3 ok:2 fail:1      alice      30s → 0.2.0
        00000005 UpdatePac…    2 ok:1 fail:1      alice      10m install nginx curl
        00000003 RunCommand    2 run:1 cxl:1      alice      20s sleep 300
        00000002 RunCommand    3 ok:2 fail:1      alice       6m for i in 1 2 3; do echo
        00000001 RunCommand    1 ok:1             alice       2h uname -a













         <commands>
         ? help · esc back · q quit
        """#

    static let commandsMixed120 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online
         <enter> Open  <l> Logs  <r> Run  <c> Cancel  <tab> Nodes  <?> Help  <esc> Back  <q> Quit
        ─────────────────────────────────────────────── Commands[5] newest first ───────────────────────────────────────────────
        ID       TYPE          TGTS STATES                 BY         AGE COMMAND
        00000006 UpdateAgent      3 ok:2 fail:1            alice      30s → 0.2.0
        00000005 UpdatePackage    2 ok:1 fail:1            alice      10m install nginx curl
        00000003 RunCommand       2 run:1 cxl:1            alice      20s sleep 300
        00000002 RunCommand       3 ok:2 fail:1            alice       6m for i in 1 2 3; do echo line $i; done
        00000001 RunCommand       1 ok:1                   alice       2h uname -a





























         <commands>
         ? help · esc back · q quit
        """#

    static let commandPackage80 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online
         <enter> Logs  <l> Logs  <c> Cancel  <?> Help  <esc> Back  <q> Quit
        ─────────────────────────────── Command 00000005 ───────────────────────────────
         UpdatePackage  by alice  10m ago  timeout 900s  ok:1 fail:1
         install nginx curl · manager apt
        NODE   STATE     EXIT DURATION    STDOUT    STDERR TRY RESULT
        edge-1 succeeded    0    42.0s  47.1 KiB       0 B   1 nginx 1.22.1-9+deb12u1 ·
        edge-2 failed     100    42.0s  47.1 KiB     212 B   1 nginx not installed · cur

         ▸ edge-1: nginx 1.22.1-9+deb12u1 · curl 7.88.1-10+deb12u8












         <commands>   <00000005>
         ? help · esc back · q quit
        """#

    static let commandPackage120 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online
         <enter> Logs  <l> Logs  <c> Cancel  <?> Help  <esc> Back  <q> Quit
        ─────────────────────────────────────────────────── Command 00000005 ───────────────────────────────────────────────────
         UpdatePackage  by alice  10m ago  timeout 900s  ok:1 fail:1
         install nginx curl · manager apt
        NODE   STATE     EXIT DURATION    STDOUT    STDERR TRY RESULT
        edge-1 succeeded    0    42.0s  47.1 KiB       0 B   1 nginx 1.22.1-9+deb12u1 · curl 7.88.1-10+deb12u8
        edge-2 failed     100    42.0s  47.1 KiB     212 B   1 nginx not installed · curl 7.88.1-10+deb12u8 · apt-get exited wit

         ▸ edge-1: nginx 1.22.1-9+deb12u1 · curl 7.88.1-10+deb12u8




























         <commands>   <00000005>
         ? help · esc back · q quit
        """#

    static let commandAgent80 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online
         <enter> Logs  <l> Logs  <c> Cancel  <?> Help  <esc> Back  <q> Quit
        ─────────────────────────────── Command 00000006 ───────────────────────────────
         UpdateAgent  by alice  30s ago  timeout 300s  ok:2 fail:1
         → 0.2.0 · artifact 3f1c2a9e · sha256 9f86d081884c7d65…
        NODE   STATE     EXIT DURATION    STDOUT    STDERR TRY RESULT
        edge-1 succeeded    0    42.0s  47.1 KiB       0 B   1 agent 0.2.0
        edge-2 succeeded    0    42.0s  47.1 KiB       0 B   1 agent 0.2.0
        edge-3 failed       1    42.0s  47.1 KiB     212 B   1 agent 0.1.0 (wanted 0.2.0

         ▸ edge-3: agent 0.1.0 (wanted 0.2.0) · new agent not healthy after 30 s; rolled
           back










         <commands>   <00000006>
         ? help · esc back · q quit
        """#
}
