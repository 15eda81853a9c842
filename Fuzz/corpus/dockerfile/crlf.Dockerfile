FROM x
EXPOSE 80 \

443
CMD ["a", 1]
