# escape=`

FROM mcr.microsoft.com/windows/servercore
COPY testfile.txt c:\
ENV PATH="C:\bin;${PATH}" `
    OTHER=`$literal
RUN dir c:\
