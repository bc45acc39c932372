// Golden screens (trailing blanks trimmed). To regenerate: run the tests, check the screens
// written to $TMPDIR/fleet-console-golden/, and paste them here.
enum Golden {
    static let nodes80 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online  marked 2
         <space> Mark  <r> Run  </> Filter  <s> Sort  <a> Mark all  <X> Revoke
        ───────────────────────────── Nodes(all)[4] by id ──────────────────────────────
          NODE   STATUS  VERSION   LAST SEEN  ATTRS
        ✓ edge-1 online  0.1.0     3s ago     region=eu-west role=web arch=x86_64
        ✓ edge-2 online  0.1.0     12s ago    region=eu-west role=db arch=x86_64
          edge-3 offline 0.0.9     7m ago     region=us-east role=web arch=aarch64
          edge-4 revoked 0.1.0     1d ago     region=us-east role=cache














         <nodes>
         ? help · esc back · q quit
        """#

    static let nodes120 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online  marked 2
         <space> Mark  <r> Run  </> Filter  <s> Sort  <a> Mark all  <X> Revoke  <tab> Commands  <?> Help  <esc> Back  <q> Quit
        ───────────────────────────────────────────────── Nodes(all)[4] by id ──────────────────────────────────────────────────
          NODE   STATUS  VERSION   LAST SEEN  ATTRS
        ✓ edge-1 online  0.1.0     3s ago     region=eu-west role=web arch=x86_64
        ✓ edge-2 online  0.1.0     12s ago    region=eu-west role=db arch=x86_64
          edge-3 offline 0.0.9     7m ago     region=us-east role=web arch=aarch64
          edge-4 revoked 0.1.0     1d ago     region=us-east role=cache






























         <nodes>
         ? help · esc back · q quit
        """#

    static let commands80 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online
         <enter> Open  <l> Logs  <r> Run  <c> Cancel  <tab> Nodes  <?> Help
        ─────────────────────────── Commands[3] newest first ───────────────────────────
        ID       TYPE       TGTS STATES           BY         AGE COMMAND
        00000003 RunCommand    2 run:1 cxl:1      alice      20s sleep 300
        00000002 RunCommand    3 ok:2 fail:1      alice       6m for i in 1 2 3; do echo
        00000001 RunCommand    1 ok:1             alice       2h uname -a















         <commands>
         ? help · esc back · q quit
        """#

    static let command80 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online
         <enter> Logs  <l> Logs  <c> Cancel  <?> Help  <esc> Back  <q> Quit
        ─────────────────────────────── Command 00000002 ───────────────────────────────
         RunCommand  by alice  6m ago  timeout 60s  ok:2 fail:1
         $ for i in 1 2 3; do echo line $i; done
        NODE   STATE     EXIT DURATION    STDOUT    STDERR TRY REASON
        edge-1 succeeded    0     2.5s      21 B       0 B   1
        edge-2 succeeded    0     2.6s      21 B       0 B   1
        edge-3 failed       2    3m20s   1.4 MiB   2.0 KiB   2













         <commands>   <00000002>
         ? help · esc back · q quit
        """#

    static let command120 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online
         <enter> Logs  <l> Logs  <c> Cancel  <?> Help  <esc> Back  <q> Quit
        ─────────────────────────────────────────────────── Command 00000002 ───────────────────────────────────────────────────
         RunCommand  by alice  6m ago  timeout 60s  ok:2 fail:1
         $ for i in 1 2 3; do echo line $i; done
        NODE   STATE     EXIT DURATION    STDOUT    STDERR TRY REASON
        edge-1 succeeded    0     2.5s      21 B       0 B   1
        edge-2 succeeded    0     2.6s      21 B       0 B   1
        edge-3 failed       2    3m20s   1.4 MiB   2.0 KiB   2





























         <commands>   <00000002>
         ? help · esc back · q quit
        """#

    static let run80 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online  marked 2
         <enter> Send  <ctrl-t> Type  <tab/↓> Next  <shift-tab/↑> Prev  <esc> Close
        ───────────────────────────────── Run command ──────────────────────────────────

           Type         (•) RunCommand  ( ) UpdateAgent  ( ) UpdatePackage

           Targets      [edge-1,edge-2                                               ]
                        → 2 nodes: edge-1, edge-2

         ▸ Command      [uptime                                                      ]
           Timeout (s)  [60      ]
           Rollout      max concurrency [      ]  max errors [      ]  e.g. 3 or 10%

           Targets: ids (a,b,c), or a selector: region=eu-west,role in (web,db) or *
           Runs as /bin/sh -c on each node. Enter asks before sending.
           ctrl-t: next type · ←/→ or space: change a choice · tab: next field






         <nodes>   <run>
         ? help · esc back · q quit
        """#

    static let confirm120 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online  marked 2
         <y> Yes  <n> No
        ───────────────────────────────────────────────────── Run command ──────────────────────────────────────────────────────

           Type         (•) RunCommand  ( ) UpdateAgent  ( ) UpdatePackage

           Targets      [edge-1,edge-2                                               ]
                        → 2 nodes: edge-1, edge-2

         ▸ Command      [uptime                                                      ]
           Timeout (s)  [60      ]
           Rollout      max concurrency [      ]  max errors [      ]  e.g. 3 or 10%

           Targets: ids (a,b,c), or a selector: region=eu-west,role in (web,db) or *
           Runs as /bin/sh -c on each node. Enter asks before sending.
           ctrl-t: next type · ←/→ or space: change a choice · tab: next field
                                                ┌─ Run command ────────────────────────┐
                                                │                                      │
                                                │ Run "uptime"                         │
                                                │ on 2 nodes: edge-1, edge-2           │
                                                │ timeout 60s                          │
                                                │                                      │
                                                │       [y] send    [n] not now        │
                                                └──────────────────────────────────────┘














         <nodes>   <run>
         ? help · esc back · q quit
        """#

    static let help80 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online
         <any key> Close help
        ───────────────────────────────────── Help ─────────────────────────────────────

          Nodes view                              More keys
            space  Mark / unmark node               u       Clear marks
            r      Run on marked nodes (or this     ↑/k     Move up
            /      Filter: text or k=v attribute    ↓/j     Move down
            s      Sort by id, status, seen, ver    pgup    Page up
            a      Mark all shown / unmark all      pgdn    Page down
            X      Revoke marked nodes (or this     g/home  First row
            tab    Commands                         G/end   Last row

                                                  Everywhere
                                                    1       Nodes
                                                    2       Commands
                                                    ctrl-r  Refresh now
                                                    ?       Help
                                                    esc     Back (clears the filter at t
                                                    q       Back; quits from the top vie
                                                    ctrl-c  Quit

         <nodes>
         ? help · esc back · q quit
        """#
}
