// Golden screens of selectors and rollouts (regenerate as Golden.swift says).
enum GoldenRollout {
    static let runSelector80 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online
         <enter> Send  <ctrl-t> Type  <tab/↓> Next  <shift-tab/↑> Prev  <esc> Close
        ───────────────────────────────── Run command ──────────────────────────────────

           Type         (•) RunCommand  ( ) UpdateAgent  ( ) UpdatePackage

           Targets      [region=eu-west,role in (web,db)                             ]
                        → 2 nodes match: edge-1, edge-2

           Command      [uptime                                                      ]
           Timeout (s)  [60      ]
         ▸ Rollout      max concurrency [1     ]  max errors [10%   ]  e.g. 3 or 10%

           Targets: ids (a,b,c), or a selector: region=eu-west,role in (web,db) or *
           Runs as /bin/sh -c on each node. Enter asks before sending.
           ctrl-t: next type · ←/→ or space: change a choice · tab: next field






         <nodes>   <run>
         ? help · esc back · q quit
        """#

    static let runSelectorProblems80 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online
         <enter> Send  <ctrl-t> Type  <tab/↓> Next  <shift-tab/↑> Prev  <esc> Close
        ───────────────────────────────── Run command ──────────────────────────────────

           Type         (•) RunCommand  ( ) UpdateAgent  ( ) UpdatePackage

           Targets      [region=eu-west role=db                                      ]
                        ✗ selector error at position 15: unexpected 'role' after 'region
                          =eu-west': missing ',' between requirements?

           Command      [uptime                                                      ]
           Timeout (s)  [60      ]
         ▸ Rollout      max concurrency [0     ]  max errors [150%  ]  e.g. 3 or 10%

           ✗ selector error at position 15: unexpected 'role' after 'region=eu-west': mi
           ✗ max concurrency must be at least 1, got 0
           ✗ max errors must be 0%–100%, got 150%

           Targets: ids (a,b,c), or a selector: region=eu-west,role in (web,db) or *
           Runs as /bin/sh -c on each node. Enter asks before sending.
           ctrl-t: next type · ←/→ or space: change a choice · tab: next field

         <nodes>   <run>
         not sent: selector error at position 15: unexpected 'role' after 'region=eu-wes
        """#

    static let confirmSelector80 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online
         <y> Yes  <n> No
        ───────────────────────────────── Run command ──────────────────────────────────

           Type         (•) RunCommand  ( ) UpdateAgent  ( ) UpdatePackage

           Targets      [region=eu-west,role in (web,db)                             ]
                        → 2 nodes match: edge-1, edge-2
            ┌─ Run command ───────────────────────────────────────────────────────┐
           C│                                                                     │  ]
           T│ Run "uptime"                                                        │
         ▸ R│ on 2 nodes matching region=eu-west,role in (web,db): edge-1, edge-2 │%
            │ timeout 60s                                                         │
           T│ at most 1 at once · stops after more than 10% errors                │*
           R│                                                                     │
           c│                       [y] send    [n] not now                       │
            └─────────────────────────────────────────────────────────────────────┘





         <nodes>   <run>
         ? help · esc back · q quit
        """#

    static let commandsSelector80 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online
         <enter> Open  <l> Logs  <r> Run  <c> Cancel  <tab> Nodes  <?> Help
        ─────────────────────────── Commands[4] newest first ───────────────────────────
        ID       TYPE       TARGETS  STATES           BY         AGE COMMAND
        00000007 RunCommand role=web run:2 q:5 ok:2 f alice       1m systemctl restart n
        00000003 RunCommand        2 run:1 cxl:1      alice      20s sleep 300
        00000002 RunCommand        3 ok:2 fail:1      alice       6m for i in 1 2 3; do
        00000001 RunCommand        1 ok:1             alice       2h uname -a














         <commands>
         ? help · esc back · q quit
        """#

    static let commandRollout80 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online
         <enter> Logs  <l> Logs  <c> Cancel  <?> Help  <esc> Back  <q> Quit
        ─────────────────────────────── Command 00000007 ───────────────────────────────
         RunCommand  by alice  1m ago  timeout 120s  run:2 q:5 ok:2 fail:1
         $ systemctl restart nginx
         selector  role=web  → 10 nodes
         rollout   2 running of max 2, 5 waiting, 1 error of max 1
         waiting   web-06, web-07, web-08, … (5 in all)
        NODE   STATE     EXIT DURATION    STDOUT    STDERR TRY REASON
        web-01 succeeded    0     8.0s     120 B       0 B   1
        web-02 succeeded    0     8.0s     120 B       0 B   1
        web-03 failed       1     8.0s     120 B       0 B   1
        web-04 running      -    50.0s     120 B       0 B   1
        web-05 running      -    40.0s     120 B       0 B   1
        web-06 queued       -        -       0 B       0 B   0
        web-07 queued       -        -       0 B       0 B   0
        web-08 queued       -        -       0 B       0 B   0
        web-09 queued       -        -       0 B       0 B   0
        web-10 queued       -        -       0 B       0 B   0



         <commands>   <00000007>
         ? help · esc back · q quit
        """#
}
