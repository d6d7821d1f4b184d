"""``dynamicall demo``: print a table of profile quantities (a quick installation check)."""


def run(args) -> int:
    from ..demo import profile_table

    print(profile_table(enable_x64=not args.float32))
    return 0


def register(sub):
    p = sub.add_parser("demo", help="print a table of profile quantities (quick check)")
    p.add_argument("--float32", action="store_true", help="compute in float32")
    p.set_defaults(func=run)
