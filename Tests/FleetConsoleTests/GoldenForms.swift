// Golden screens of the Run form: RunCommand and UpdatePackage (regenerate as Golden.swift says).
enum GoldenForms {
    static let run120 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online  marked 2
         <enter> Send  <ctrl-t> Type  <tab/↓> Next  <shift-tab/↑> Prev  <esc> Close
        ───────────────────────────────────────────────────── Run command ──────────────────────────────────────────────────────

           Type         (•) RunCommand  ( ) UpdateAgent  ( ) UpdatePackage

           Targets      [edge-1,edge-2                                               ]
                        → 2 nodes: edge-1, edge-2

         ▸ Command      [                                                            ]
           Timeout (s)  [60      ]
           Rollout      max concurrency [      ]  max errors [      ]  e.g. 3 or 10%

           Targets: ids (a,b,c), or a selector: region=eu-west,role in (web,db) or *
           Runs as /bin/sh -c on each node. Enter asks before sending.
           ctrl-t: next type · ←/→ or space: change a choice · tab: next field






















         <nodes>   <run>
         ? help · esc back · q quit
        """#

    static let helpRun80 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online  marked 2
         <any key> Close help
        ───────────────────────────────────── Help ─────────────────────────────────────

          Run view
            enter       Check, then send (asks first)
            ctrl-t      Next type: RunCommand, UpdateAgent, UpdatePackage
            tab/↓       Next field
            shift-tab/↑ Previous field
            esc         Close the form

          More keys
            ←/→     Change a choice (space too): type, action, …
            ctrl-r  Reload nodes and the artifact list
            ?       Help, from a choice row (in text it is text)







         <nodes>   <run>
         ? help · esc back · q quit
        """#

    static let runPackage80 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online  marked 2
         <enter> Send  <ctrl-t> Type  <tab/↓> Next  <shift-tab/↑> Prev  <esc> Close
        ─────────────────────────────── Update packages ────────────────────────────────

           Type         ( ) RunCommand  ( ) UpdateAgent  (•) UpdatePackage

           Targets      [edge-1,edge-2                                               ]
                        → 2 nodes: edge-1, edge-2

           Action       (•) install  ( ) remove  ( ) upgrade
           Packages     [nginx curl                                                  ]
         ▸ Manager      ( ) auto  (•) apt  ( ) dnf  ( ) yum  ( ) apk  ( ) zypper
           Timeout (s)  [900     ]  empty: no limit
           Rollout      max concurrency [      ]  max errors [      ]  e.g. 3 or 10%

           Targets: ids (a,b,c), or a selector: region=eu-west,role in (web,db) or *
           Packages: names separated by spaces, pinned as name=version if needed.
           ctrl-t: next type · ←/→ or space: change a choice · tab: next field




         <nodes>   <run>
         ? help · esc back · q quit
        """#

    static let runPackage120 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online  marked 2
         <enter> Send  <ctrl-t> Type  <tab/↓> Next  <shift-tab/↑> Prev  <esc> Close
        ─────────────────────────────────────────────────── Update packages ────────────────────────────────────────────────────

           Type         ( ) RunCommand  ( ) UpdateAgent  (•) UpdatePackage

           Targets      [edge-1,edge-2                                               ]
                        → 2 nodes: edge-1, edge-2

           Action       (•) install  ( ) remove  ( ) upgrade
           Packages     [nginx curl                                                  ]
         ▸ Manager      ( ) auto  (•) apt  ( ) dnf  ( ) yum  ( ) apk  ( ) zypper
           Timeout (s)  [900     ]  empty: no limit
           Rollout      max concurrency [      ]  max errors [      ]  e.g. 3 or 10%

           Targets: ids (a,b,c), or a selector: region=eu-west,role in (web,db) or *
           Packages: names separated by spaces, pinned as name=version if needed.
           ctrl-t: next type · ←/→ or space: change a choice · tab: next field




















         <nodes>   <run>
         ? help · esc back · q quit
        """#

    static let runPackageProblems80 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online  marked 2
         <enter> Send  <ctrl-t> Type  <tab/↓> Next  <shift-tab/↑> Prev  <esc> Close
        ─────────────────────────────── Update packages ────────────────────────────────

           Type         ( ) RunCommand  ( ) UpdateAgent  (•) UpdatePackage

           Targets      [edge-1,edge-2                                               ]
                        → 2 nodes: edge-1, edge-2

           Action       (•) install  ( ) remove  ( ) upgrade
           Packages     [vim; rm -rf /                                               ]
         ▸ Manager      ( ) auto  (•) apt  ( ) dnf  ( ) yum  ( ) apk  ( ) zypper
           Timeout (s)  [900     ]  empty: no limit
           Rollout      max concurrency [      ]  max errors [      ]  e.g. 3 or 10%

           ✗ packages: 'vim;' is not a valid package name
           ✗ packages: '-rf' is not a valid package name
           ✗ packages: '/' is not a valid package name

           Targets: ids (a,b,c), or a selector: region=eu-west,role in (web,db) or *
           Packages: names separated by spaces, pinned as name=version if needed.
           ctrl-t: next type · ←/→ or space: change a choice · tab: next field
         <nodes>   <run>
         not sent: packages: 'vim;' is not a valid package name (and 2 more)
        """#

    static let confirmPackage80 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online  marked 2
         <y> Yes  <n> No
        ─────────────────────────────── Update packages ────────────────────────────────

           Type         ( ) RunCommand  ( ) UpdateAgent  (•) UpdatePackage

           Targets      [edge-1,edge-2                                               ]
                        → 2 nodes: edge-1, edge-2
                        ┌─ Update packages ───────────────────────────┐
           Action       │                                             │
           Packages     │ UpdatePackage install nginx curl on 2 nodes │              ]
         ▸ Manager      │ nodes: edge-1, edge-2                       │ ) zypper
           Timeout (s)  │ with apt · timeout 900s                     │
           Rollout      │                                             │e.g. 3 or 10%
                        │           [y] send    [n] not now           │
           Targets: ids └─────────────────────────────────────────────┘(web,db) or *
           Packages: names separated by spaces, pinned as name=version if needed.
           ctrl-t: next type · ←/→ or space: change a choice · tab: next field




         <nodes>   <run>
         ? help · esc back · q quit
        """#
}
