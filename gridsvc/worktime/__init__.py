"""Working time on China's official calendar: office hours, workdays, holidays and declared days.

`calendar` counts working time (pure); `declared_days` stores an administrator's days and keeps
each process's calendar fresh.

May import: gridsvc.network and below.
"""
